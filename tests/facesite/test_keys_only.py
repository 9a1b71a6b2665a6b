"""Keys only: a back-office user with a security key refuses codes, so that a code phished from them (or a
recovery code) passes nothing. Driven through the pages, with a key in software that py_webauthn checks in full."""

import pytest
from django.test import Client
from django.utils.html import strip_tags

from backoffice.models import Authenticator, RecoveryCode, SecurityKey
from backoffice.two_step import two_step_reset
from recognition.admin.activity import sentences
from recognition.models import AuditEvent
from tests.factories import UserFactory
from tests.security_key import SoftwareKey
from tests.two_step import (
    ORIGIN,
    code_after,
    key_added,
    key_answer,
    key_options,
    second_steps,
    set_up,
    signed_in,
    user_with_key,
)

pytestmark = pytest.mark.django_db
SETTINGS = "/admin/two-step/settings/"


@pytest.fixture(autouse=True)
def required(settings):
    settings.FACESITE_TWO_STEP_REQUIRED = True


def keys_only_user(key: SoftwareKey, **fields) -> tuple[object, Client, str, list[str]]:
    """A back-office user with an authenticator app and ``key`` who chose keys only; the client that chose it
    (still through: it set the app up), the app's secret and the recovery codes."""
    user = UserFactory(is_staff=True, **fields)
    client, _ = signed_in(user)
    secret, codes = set_up(client)
    key_added(client, key)
    chosen = client.post(SETTINGS, {"keys_only": "on"}, follow=True)
    assert "From now on only your security keys sign you in" in chosen.content.decode()
    return user, client, secret, codes


def choose(client: Client, keys_only: str) -> str:
    """Press *Sign in with keys only* (``on``) or *Accept codes again* (``off``); the page shown after."""
    return client.post(SETTINGS, {"keys_only": keys_only}, follow=True).content.decode()


def test_a_right_code_passes_nothing_and_is_told_once_a_session(settings):
    settings.FACESITE_LOGIN_FAILURES = 3
    key = SoftwareKey()
    user, _, secret, codes = keys_only_user(key)
    last_step = Authenticator.objects.get(user=user).last_step

    client, sent_to = signed_in(user)
    page = client.get(sent_to).content.decode()
    assert "You sign in with security keys only" in page and "Use your security key" in page
    assert 'name="code"' not in page and "Lost your keys?" in page

    right = client.post(sent_to, {"code": code_after(secret, 1)}).content.decode()
    assert "You sign in with security keys only: codes are not accepted." in right
    assert client.get("/admin/").status_code == 302, "still at the second step"
    client.post(sent_to, {"code": codes[0]})
    assert RecoveryCode.objects.filter(user=user, used_at=None).count() == 10, "no recovery code used up"
    assert Authenticator.objects.get(user=user).last_step == last_step, "the right code is not taken either"
    [refused] = AuditEvent.objects.filter(action=AuditEvent.Action.KEYS_ONLY_CODE)
    assert refused.details["right_code"] is True and refused.object_id == str(user.pk)
    said = strip_tags(sentences([refused])[refused.pk])
    assert said == f"{user.username} had a code refused (keys only) signing in as {user.username}"

    other, other_sent_to = signed_in(user)
    third = other.post(other_sent_to, {"code": "000000"}).content.decode()
    assert "codes are not accepted" in third, "the third refused code starts the lockout"
    wrong = AuditEvent.objects.filter(action=AuditEvent.Action.KEYS_ONLY_CODE).latest("pk")
    assert wrong.pk != refused.pk and wrong.details["right_code"] is False, "a new session is told again"
    assert "Too many wrong codes or key answers" in client.post(sent_to, {"code": "123456"}).content.decode()
    assert key_options(client) == {"error": "Too many wrong codes or key answers. Try again in 15 minutes."}


def test_only_a_key_lets_a_keys_only_user_through():
    key = SoftwareKey()
    user, _, _, _ = keys_only_user(key)
    client, _ = signed_in(user)
    answer = key_answer(client, key.get(key_options(client)["options"], origin=ORIGIN))
    assert answer.json() == {"next": "/admin/"}
    assert client.get("/admin/").status_code == 200
    assert second_steps(user)[-1] == "security key"


def test_sessions_through_with_a_code_must_show_a_key_once_keys_only_is_chosen():
    key = SoftwareKey()
    user = UserFactory(is_staff=True)
    first, _ = signed_in(user)
    secret, _ = set_up(first)
    key_added(first, key)
    with_code, sent_to = signed_in(user)
    with_code.post(sent_to, {"code": code_after(secret, 1)})  # not used yet
    assert with_code.get("/admin/").status_code == 200

    page = choose(with_code, "on")
    assert "You sign in with security keys only: use one of yours." in page, "sent to the key at once"
    assert "From now on only your security keys sign you in" in page
    assert first.get("/admin/").status_code == 200, "the session that set the app up stays through"
    assert key_answer(with_code, key.get(key_options(with_code)["options"], origin=ORIGIN)).status_code == 200
    assert with_code.get(SETTINGS).status_code == 200


def test_keys_only_needs_a_key_and_keeps_the_last_one():
    user = UserFactory(is_staff=True)
    client, _ = signed_in(user)
    secret, _ = set_up(client)
    assert "Keys only" not in client.get(SETTINGS).content.decode(), "offered once there is a key"
    assert "Add a security key first" in choose(client, "on")
    assert not Authenticator.objects.get(user=user).keys_only

    key_added(client, SoftwareKey(), name="Blue key")
    assert "Sign in with keys only" in client.get(SETTINGS).content.decode()
    choose(client, "on")
    blue = SecurityKey.objects.get(name="Blue key")
    kept = client.post(SETTINGS, {"remove": blue.pk}, follow=True).content.decode()
    assert "“Blue key” is your last key, and you sign in with keys only: add another key first." in kept
    assert SecurityKey.objects.filter(pk=blue.pk).exists()
    key_added(client, SoftwareKey(), name="Spare key")
    assert "is removed" in client.post(SETTINGS, {"remove": blue.pk}, follow=True).content.decode()

    page = choose(client, "off")
    assert "sign you in again" in page and "Sign in with keys only" in page
    assert not choose(client, "off").count("sign you in again"), "nothing changed, nothing said"
    again, sent_to = signed_in(user)
    again.post(sent_to, {"code": code_after(secret, 1)})
    assert again.get("/admin/").status_code == 200, "codes pass again"
    chosen = [(row.action, row.details["keys"]) for row in AuditEvent.objects.filter(
        action__in=[AuditEvent.Action.KEYS_ONLY_ON, AuditEvent.Action.KEYS_ONLY_OFF]).order_by("pk")]  # fmt: skip
    assert chosen == [(AuditEvent.Action.KEYS_ONLY_ON, 1), (AuditEvent.Action.KEYS_ONLY_OFF, 1)]


def test_a_new_phone_keeps_keys_only_and_a_reset_ends_it():
    key = SoftwareKey()
    user, client, _, _ = keys_only_user(key)
    set_up(client)  # a new phone, from the session that set up the old one
    assert Authenticator.objects.get(user=user).keys_only, "a new phone is no way round keys only"
    assert client.get("/admin/").status_code == 200

    administrator = UserFactory(is_staff=True, is_superuser=True)
    assert two_step_reset(user=user, actor=administrator)
    fresh, _ = signed_in(user)
    secret, _ = set_up(fresh)
    assert not Authenticator.objects.get(user=user).keys_only
    after, sent_to = signed_in(user)
    after.post(sent_to, {"code": code_after(secret, 1)})
    assert after.get("/admin/").status_code == 200, "the reset user signs in with codes again"


def test_the_users_list_says_who_signs_in_with_keys_only_and_why(settings):
    keys_only_user(SoftwareKey(), username="keys-only")
    administrator = UserFactory(is_staff=True, is_superuser=True)
    client, _ = signed_in(administrator)
    set_up(client)
    settings.FACESITE_KEYS_ONLY_ROLES = ["Operator"]
    UserFactory(is_staff=True, role="Operator", username="operator-without-a-key")
    user_with_key(SoftwareKey(), role="Operator", username="operator-with-a-key")
    listed = client.get("/admin/auth/user/")
    admin_page = listed.context["cl"].model_admin
    said = {user.username: admin_page.keys_only(user) for user in listed.context["cl"].result_list}
    assert said == {administrator.username: "–", "keys-only": "chosen", "operator-without-a-key": "by role, no key yet",
                    "operator-with-a-key": "by role"}  # fmt: skip
    assert "by role, no key yet" in listed.content.decode()


def test_a_role_that_signs_in_with_keys_only_holds_its_users_at_their_page_until_they_add_one(settings):
    settings.FACESITE_KEYS_ONLY_ROLES = ["Administrator"]
    user, key = UserFactory(is_staff=True, role="Administrator"), SoftwareKey()
    client, _ = signed_in(user)
    secret, _ = set_up(client)
    held = client.get("/admin/recognition/image/", follow=True)
    assert held.redirect_chain[-1][0] == SETTINGS
    assert "Your role signs in with security keys only. Add a key below" in held.content.decode()
    assert 'id="nav-sidebar"' not in held.content.decode(), "no links that would only lead back"
    assert 'action="/admin/logout/"' in held.content.decode(), "but a way out without a key at hand"
    api = client.get("/api/images/")
    assert api.status_code in (401, 403) and "security keys only" in api.json()["detail"]

    key_added(client, key)
    assert client.get("/admin/recognition/image/").status_code == 200, "the key added, the back office opens"
    page = client.get(SETTINGS).content.decode()
    assert "Your role signs in with security keys only, as your administrators set it" in page
    assert "(your role signs in with keys only)" in page and 'id="nav-sidebar"' in page
    assert "Accept codes again" not in page
    assert "codes cannot be accepted again" in choose(client, "off")
    kept = client.post(SETTINGS, {"remove": SecurityKey.objects.get(user=user).pk}, follow=True).content.decode()
    assert "is your last key, and you sign in with keys only" in kept

    again, sent_to = signed_in(user)
    assert "codes are not accepted" in again.post(sent_to, {"code": code_after(secret, 1)}).content.decode()
    assert key_answer(again, key.get(key_options(again)["options"], origin=ORIGIN)).status_code == 200
    assert again.get("/admin/recognition/image/").status_code == 200
    assert not Authenticator.objects.get(user=user).keys_only, "the role's rule, not the user's choice"


def test_a_role_that_need_not_use_keys_signs_in_with_codes(settings):
    settings.FACESITE_KEYS_ONLY_ROLES = ["Administrator", "superuser"]
    user = UserFactory(is_staff=True, role="Operator")
    client, _ = signed_in(user)
    secret, _ = set_up(client)
    assert client.get("/admin/recognition/image/").status_code == 200
    key_added(client, SoftwareKey())
    again, sent_to = signed_in(user)
    again.post(sent_to, {"code": code_after(secret, 1)})
    assert again.get("/admin/recognition/image/").status_code == 200


def test_the_dashboard_counts_the_users_of_keys_only_roles_without_a_key(settings):
    settings.FACESITE_KEYS_ONLY_ROLES = ["Operator", "superuser"]
    UserFactory(is_staff=True, role="Operator", username="no-key-yet")
    UserFactory(is_staff=True, role="Operator", is_active=False)
    UserFactory(is_staff=True, role="Reviewer")
    user_with_key(SoftwareKey(), role="Operator")
    administrator = UserFactory(is_staff=True, is_superuser=True)
    client, _ = signed_in(administrator)
    set_up(client)
    assert "have no key yet" not in client.get("/admin/", follow=True).content.decode(), "held: not the dashboard"
    key_added(client, SoftwareKey())
    dashboard = client.get("/admin/").content.decode()
    assert "<strong>1</strong> user(s) of the roles that sign in with security keys only have no key yet" in dashboard
