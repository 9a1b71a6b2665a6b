"""API tokens are issued and revoked through one audited service, from the command line and from the admin;
a key is shown once, when it is issued, and is kept out of audit rows, lists, confirmation pages and the
admin's own log."""

from __future__ import annotations

import importlib
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backoffice import roles
from backoffice.tokens import stored_key
from recognition.models import AuditEvent
from tests.factories import UserFactory
from tests.helpers import token_for

pytestmark = pytest.mark.django_db


def status_with(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/images/").status_code


def create_token(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("drf_create_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_issues_a_working_token_once_and_records_it_without_the_key(settings):
    settings.FACESITE_TOKEN_MAX_AGE = 90 * 24 * 3600
    alice = UserFactory(username="alice", role=roles.OPERATOR)
    out, err = create_token("alice")
    key = out.split()[2]  # the README reads it so: awk '{print $3}'
    assert out == f"Generated token {key} for user alice\n"
    assert "not shown again" in err and "stops working on" in err
    assert status_with(key) == 200
    assert Token.objects.get(user=alice).key == stored_key(key) != key, "the database keeps only the hash"
    event = AuditEvent.objects.get(action=AuditEvent.Action.API_TOKEN_ISSUE)
    assert (event.object_type, event.object_id, event.details) == ("user", str(alice.pk), {"replaced": False})
    assert key not in str(AuditEvent.objects.values_list())

    with pytest.raises(CommandError, match=r"already has an API token.*-r to replace it"):
        create_token("alice")
    assert status_with(key) == 200, "refusing to show it again leaves it working"


def test_reset_replaces_the_token_and_revoke_takes_it_away():
    UserFactory(username="alice", role=roles.OPERATOR)
    old = create_token("alice")[0].split()[2]
    new = create_token("alice", "-r")[0].split()[2]
    assert new != old and status_with(old) == 401 and status_with(new) == 200
    assert AuditEvent.objects.filter(action=AuditEvent.Action.API_TOKEN_ISSUE).latest("created_at").details == {
        "replaced": True
    }

    _, err = create_token("alice", "--revoke")
    assert "revoked" in err and status_with(new) == 401
    assert AuditEvent.objects.filter(action=AuditEvent.Action.API_TOKEN_REVOKE).count() == 1
    with pytest.raises(CommandError, match="alice has no API token"):
        create_token("alice", "--revoke")


@pytest.mark.parametrize(
    ("user", "message"),
    [("nobody", "No user is called 'nobody'"), ("gone", "gone is inactive; their token would be refused")],
)
def test_the_command_refuses_unknown_and_inactive_users(user, message):
    UserFactory(username="gone", is_active=False)
    with pytest.raises(CommandError, match=message):
        create_token(user)
    assert not Token.objects.exists()


def test_the_admin_issues_and_revokes_tokens_showing_the_key_only_once():
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    bob = UserFactory(username="bob", role=roles.OPERATOR)
    old = token_for(bob)
    assert status_with(old) == 200
    client = Client()
    client.force_login(admin_user)

    issued = client.post(reverse("admin:backoffice_apitoken_add"), {"user": bob.pk}, follow=True)
    messages = [str(m) for m in issued.context["messages"]]
    key = re.search(r"shown only now\): (\w+)", messages[0]).group(1)  # type: ignore[union-attr]
    assert status_with(key) == 200 and status_with(old) == 401, "issuing replaced Bob's token"
    event = AuditEvent.objects.get(action=AuditEvent.Action.API_TOKEN_ISSUE)
    assert (event.actor, event.object_id, event.details) == (admin_user, str(bob.pk), {"replaced": True})

    listing = client.get(reverse("admin:backoffice_apitoken_changelist")).content.decode()
    assert "bob" in listing and key not in listing
    confirm = client.get(reverse("admin:backoffice_apitoken_delete", args=[bob.pk])).content.decode()
    assert "API token of bob" in confirm and key not in confirm
    client.post(reverse("admin:backoffice_apitoken_delete", args=[bob.pk]), {"post": "yes"})
    assert status_with(key) == 401
    assert AuditEvent.objects.get(action=AuditEvent.Action.API_TOKEN_REVOKE).actor == admin_user
    assert [entry.object_repr for entry in LogEntry.objects.order_by("action_time")] == ["API token of bob"] * 2

    trail = client.get(reverse("admin:recognition_auditevent_changelist")).content.decode()
    bob_page = reverse("admin:auth_user_change", args=[bob.pk])
    for verb in ("issued an API token to", "revoked the API token of"):
        assert f'{admin_user.username} {verb} <a href="{bob_page}">bob</a>' in trail


def test_tokens_made_before_keys_were_hashed_keep_working_once_migrated():
    from django.apps import apps

    hashing = importlib.import_module("backoffice.migrations.0009_api_token_keys_hashed")
    raw = Token.objects.create(user=UserFactory(role=roles.OPERATOR)).key  # as DRF stored keys until then
    assert status_with(raw) == 401
    hashing.hash_keys(apps, None)
    assert status_with(raw) == 200
    assert not Token.objects.filter(key=raw).exists()


def test_the_dashboard_warns_of_tokens_about_to_stop_working(settings):
    settings.FACESITE_TOKEN_MAX_AGE = 30 * 24 * 3600
    for age_days in (10, 25, 40):  # 20 days left; 5 days left; ended 10 days ago
        user = UserFactory(role=roles.OPERATOR)
        token_for(user)
        Token.objects.filter(user=user).update(created=timezone.now() - timedelta(days=age_days))
    superuser = Client()
    superuser.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = superuser.get(reverse("admin:index")).content.decode()
    assert "<strong>1</strong> API token(s) stop working within 14 days; <strong>1</strong> already have" in page
    administrator = Client()  # who cannot see tokens is not told about them
    administrator.force_login(UserFactory(is_staff=True, role=roles.ADMINISTRATOR))
    assert "API token(s)" not in administrator.get(reverse("admin:index")).content.decode()
    settings.FACESITE_TOKEN_MAX_AGE = 0  # tokens that never expire
    assert "API token(s)" not in superuser.get(reverse("admin:index")).content.decode()
