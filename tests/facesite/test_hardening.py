"""Deployment defaults a security team expects: TLS-only cookies, HSTS, lockouts, expiring tokens, private files."""

import os
import stat
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backoffice import roles
from recognition.services.ingest import image_ingest
from tests import images
from tests.factories import UserFactory
from tests.helpers import token_for

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def test_https_defaults_secure_cookies_and_hsts():
    user = UserFactory(is_staff=True, role=roles.REVIEWER)
    client = Client()
    response = client.post(reverse("admin:login"), {"username": user.username, "password": PASSWORD}, secure=True)
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Strict"
    assert "max-age=31536000" in client.get(reverse("admin:login"), secure=True)["Strict-Transport-Security"]


def test_repeated_failed_sign_ins_lock_the_user_name_out_even_with_the_right_password(settings):
    settings.FACESITE_LOGIN_FAILURES = 3
    user = UserFactory(is_staff=True, role=roles.REVIEWER)
    client = Client()
    for _ in range(3):
        client.post(reverse("admin:login"), {"username": user.username, "password": "guess"})
    refused = client.post(reverse("admin:login"), {"username": user.username, "password": PASSWORD})
    assert refused.status_code == 200 and "Too many failed sign-ins" in refused.content.decode()
    other = UserFactory(is_staff=True, role=roles.REVIEWER)
    allowed = client.post(reverse("admin:login"), {"username": other.username, "password": PASSWORD})
    assert allowed.status_code == 302, "only that user name is locked"


def test_guessing_tokens_gets_throttled(settings):
    settings.FACESITE_TOKEN_FAILURES = 3
    client = APIClient()
    codes = []
    for guess in range(5):
        client.credentials(HTTP_AUTHORIZATION=f"Token {guess:040x}")
        codes.append(client.get("/api/images/").status_code)
    assert codes == [401, 401, 401, 429, 429], "guessing from that address is cut off for a while"
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(UserFactory(role=roles.OPERATOR))}")
    assert client.get("/api/images/").status_code == 200, "a real token is no guess"


def test_tokens_expire(settings):
    settings.FACESITE_TOKEN_MAX_AGE = 3600
    operator = UserFactory(role=roles.OPERATOR)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(operator)}")
    assert client.get("/api/images/").status_code == 200
    Token.objects.filter(user=operator).update(created=timezone.now() - timedelta(hours=2))
    expired = client.get("/api/images/")
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_a_users_permissions_are_their_own_and_their_groups_read_in_one_query(django_assert_num_queries):
    user = UserFactory(role=roles.REVIEWER)
    user.user_permissions.add(Permission.objects.get(codename="download_original_image"))
    user.groups.add(Group.objects.get(name=roles.OPERATOR))  # a second group, granting some of the same
    superuser = UserFactory(is_superuser=True)

    def fresh(user):  # a user as each request loads it, nothing cached
        return get_user_model().objects.get(pk=user.pk)

    loaded = fresh(user)
    with django_assert_num_queries(1):
        held = loaded.get_all_permissions()
    assert {"recognition.download_original_image", "recognition.change_faceforreview"} <= held, "own and group's"
    assert held == ModelBackend().get_all_permissions(fresh(user)), "what Django's own backend finds"
    assert fresh(superuser).get_all_permissions() == ModelBackend().get_all_permissions(fresh(superuser))
    assert fresh(UserFactory()).get_all_permissions() == set(), "no group, no permission"
    user.is_active = False
    assert user.get_all_permissions() == set() and not user.has_perm("recognition.change_face")


def test_the_schema_and_its_ui_are_for_signed_in_users_only(api_client):
    assert APIClient().get("/api/schema/").status_code in (401, 403)
    browser = Client().get("/api/docs/?x=1")  # a browser not signed in is sent to sign in, then back
    assert browser.status_code == 302 and browser["Location"] == "/admin/login/?next=/api/docs/%3Fx%3D1"
    assert APIClient().get("/api/docs/", HTTP_AUTHORIZATION="Token wrong").status_code == 401, "a program's 401"
    assert api_client.get("/api/schema/").status_code == 200 and api_client.get("/api/docs/").status_code == 200


def test_the_image_file_is_not_cached_and_cannot_run_as_a_page(api_client):
    image = image_ingest(data=images.jpeg((96, 72), seed=1))
    response = api_client.get(f"/api/images/{image.pk}/file/")
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_every_page_runs_scripts_and_styles_from_the_site_only(api_client, settings):
    policy, api_policy = settings.FACESITE_CONTENT_SECURITY_POLICY, settings.FACESITE_API_CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy
    inline_attributes = "style-src 'self'; style-src-attr 'unsafe-inline';"  # DRF's forms set style attributes
    assert api_policy == policy.replace("style-src 'self';", inline_attributes) != policy
    for answer in (Client().get("/admin/login/"), Client().get("/kiosk/sign-in/"), Client().get("/healthz")):
        assert answer["Content-Security-Policy"] == policy, answer.wsgi_request.path
    for answer in (api_client.get("/api/images/"), api_client.get("/api/docs/")):
        assert answer["Content-Security-Policy"] == api_policy, answer.wsgi_request.path
    docs = api_client.get("/api/docs/").content.decode()
    assert "<script>" not in docs and "?script" in docs, "Swagger UI's settings come as a script of the site's"
    assert "<style" not in docs and "backoffice/swagger_ui.css" in docs, "its page styles as a stylesheet"
    browsable = api_client.get("/api/images/", HTTP_ACCEPT="text/html")
    assert "Image List" in browsable.content.decode() and "<style" not in browsable.content.decode()
    script = api_client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    settings.FACESITE_CONTENT_SECURITY_POLICY = settings.FACESITE_API_CONTENT_SECURITY_POLICY = ""  # set at the proxy
    assert "Content-Security-Policy" not in Client().get("/admin/login/")
    assert "Content-Security-Policy" not in api_client.get("/api/docs/")


def test_stored_images_are_owner_only(media_root):
    image = image_ingest(data=images.jpeg((96, 72), seed=2))
    path = media_root / image.file.name
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
