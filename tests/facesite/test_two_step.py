"""Two-step sign-in to the back office, through its pages: set up after the password, asked for on every
new session, its codes good once, recovery codes, the lockout, and the reset for a lost phone."""

import hashlib
from datetime import timedelta
from io import StringIO

import pyotp
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django.utils.html import strip_tags

from backoffice.models import Authenticator, RecoveryCode
from backoffice.templatetags.facesite_dashboard import _recent_activity as recent_activity
from recognition.admin.activity import sentences
from recognition.models import AuditEvent
from tests.factories import UserFactory
from tests.two_step import code_after, second_steps, set_up, signed_in


@pytest.fixture
def required(settings):
    settings.FACESITE_TWO_STEP_REQUIRED = True


@pytest.mark.django_db
def test_a_back_office_user_sets_up_an_authenticator_after_the_password_and_needs_it_next_time(required):
    user = UserFactory(is_staff=True, is_superuser=True)
    client, landed = signed_in(user, next_page="/admin/recognition/image/")
    assert landed == "/admin/two-step/?next=%2Fadmin%2Frecognition%2Fimage%2F"
    page = client.get(landed).content.decode()
    assert "Set up two-step sign-in" in page and "<svg" in page, "no authenticator yet: it is set up first"
    assert client.get("/admin/recognition/image/").status_code == 302, "the password alone opens no page"
    refused = client.get("/api/images/")
    assert refused.status_code in (401, 403) and "two-step sign-in" in refused.json()["detail"], "nor the API"
    docs = client.get("/api/docs/", follow=True)
    assert docs.redirect_chain[-1][0] == "/admin/two-step/?next=%2Fapi%2Fdocs%2F", "its docs send you to the code"

    wrong = client.post("/admin/two-step/setup/", {"code": "000000"}).content.decode()
    assert "That code is not right" in wrong and not Authenticator.objects.exists()
    secret, codes = set_up(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/admin/recognition/image/").status_code == 200
    assert client.get("/api/images/").status_code == 200
    stored = Authenticator.objects.get(user=user)
    assert secret not in stored.secret_encrypted, "kept encrypted"
    plain_hashes = {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    assert RecoveryCode.objects.filter(user=user).count() == 10
    assert not RecoveryCode.objects.filter(code_hash__in=plain_hashes).exists(), "keyed: a dump cannot be searched"
    assert AuditEvent.objects.filter(action="two_step.set_up", actor=user).count() == 1
    assert second_steps(user) == ["set up"], "the sign-in counts once the code is given, not at the password"

    again, landed = signed_in(user, next_page="/admin/recognition/image/")
    assert "Two-step sign-in" in again.get(landed).content.decode()
    used = pyotp.TOTP(secret).generate_otp(stored.last_step)  # the code that set it up: good once
    assert "That code is not right" in again.post(landed, {"code": used}).content.decode()
    onward = again.post(landed, {"code": code_after(secret, 1)})
    assert onward.status_code == 302 and onward["Location"] == "/admin/recognition/image/"
    assert again.get("/admin/recognition/image/").status_code == 200
    assert second_steps(user) == ["set up", "authenticator"]


@pytest.mark.django_db
def test_a_recovery_code_signs_in_once_and_is_audited(required):
    user = UserFactory(is_staff=True)
    _, codes = set_up(signed_in(user)[0])

    client, landed = signed_in(user)
    assert client.post(landed, {"code": codes[0].upper().replace("-", " ")}).status_code == 302, "as typed"
    assert "You signed in with a recovery code (9 left)." in client.get("/admin/").content.decode()
    recovery = AuditEvent.objects.get(action="two_step.recovery")
    assert recovery.actor == user and recovery.details["recovery_codes_left"] == 9
    assert second_steps(user) == ["set up", "recovery code"]

    other, landed = signed_in(user)
    assert "That code is not right" in other.post(landed, {"code": codes[0]}).content.decode(), "used up"
    assert other.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_wrong_codes_lock_the_second_step_for_a_while(required, settings):
    settings.FACESITE_LOGIN_FAILURES = 3
    user = UserFactory(is_staff=True)
    secret, _ = set_up(signed_in(user)[0])
    client, landed = signed_in(user)
    for _ in range(3):
        client.post(landed, {"code": "123456"})
    locked = client.post(landed, {"code": code_after(secret, 1)})
    assert locked.status_code == 200 and "Too many wrong codes" in locked.content.decode()
    [lockout] = AuditEvent.objects.filter(action="user.locked_out")
    assert lockout.actor == user and lockout.details["step"] == "second step", "recorded once, not per try after"
    for _ in range(4):
        Client().post("/admin/login/", {"username": "nobody-here", "password": "guess"})
    password_lockout = AuditEvent.objects.filter(action="user.locked_out").exclude(pk=lockout.pk).get()
    assert password_lockout.actor is None and password_lockout.details["username"] == "nobody-here"
    said = strip_tags(sentences([password_lockout])[password_lockout.pk])
    assert said == "Sign-in as nobody-here locked for 15 minutes after failed attempts (password)"
    assert client.get("/admin/").status_code == 302
    assert client.post("/admin/logout/").status_code == 200 and "_auth_user_id" not in client.session, "signs out"


@pytest.mark.django_db
def test_a_lost_phone_is_reset_by_an_administrator_and_the_sessions_it_let_in_end(required):
    administrator = UserFactory(is_staff=True, is_superuser=True)
    admin_client = signed_in(administrator)[0]
    set_up(admin_client)
    user = UserFactory(is_staff=True, username="has-a-phone")
    user_client = signed_in(user)[0]
    set_up(user_client)
    assert user_client.get("/admin/").status_code == 200
    UserFactory(is_staff=True, username="not-set-up-yet")
    listed = admin_client.get("/admin/auth/user/?two_step=no").content.decode()
    assert "not-set-up-yet" in listed and "has-a-phone" not in listed, "who has not set it up yet"
    dashboard = admin_client.get("/admin/").content.decode()
    assert "<strong>1</strong> back-office user(s) have not set up two-step sign-in" in dashboard

    answer = admin_client.post("/admin/auth/user/", {"action": "two_step_reset", "_selected_action": [user.pk]},
                               follow=True)  # fmt: skip
    assert "Two-step sign-in reset for" in answer.content.decode()
    assert not Authenticator.objects.filter(user=user).exists() and not RecoveryCode.objects.filter(user=user).exists()
    assert user_client.get("/admin/").status_code == 302, "what the old phone let in ends"
    reset = AuditEvent.objects.get(action="two_step.reset")
    assert reset.actor == administrator and reset.details["user"] == user.username
    said = strip_tags(sentences([reset])[reset.pk])
    assert said == f"{administrator.username} reset the two-step sign-in of {user.username}"

    set_up(user_client)  # after their password, a new authenticator
    out = StringIO()
    call_command("two_step_reset", user.username, stdout=out)
    assert "two-step sign-in is reset: they set up a new authenticator after signing in, until " in out.getvalue()
    call_command("two_step_reset", user.username, stdout=out)
    assert "has-a-phone had not set up two-step sign-in: they may set it up after signing in, until" in out.getvalue()
    resets = AuditEvent.objects.filter(action="two_step.reset").order_by("pk")
    assert [reset.details["had_authenticator"] for reset in resets] == [True, True, False]
    with pytest.raises(CommandError, match="No user is called"):
        call_command("two_step_reset", "nobody")


@pytest.mark.django_db
def test_setting_up_a_new_phone_needs_the_old_ones_code_first(required):
    user = UserFactory(is_staff=True)
    old_secret, _ = set_up(signed_in(user)[0])
    client, landed = signed_in(user)
    assert "Set up" not in client.get("/admin/two-step/setup/", follow=True).content.decode()
    client.post(landed, {"code": code_after(old_secret, 1)})
    assert "You have 10 unused recovery codes" in client.get("/admin/two-step/setup/").content.decode()
    new_secret, _ = set_up(client)
    assert new_secret != old_secret
    later, landed = signed_in(user)
    assert later.post(landed, {"code": code_after(old_secret, 1)}).status_code == 200, "the old phone is refused"


@pytest.mark.django_db
def test_where_it_is_optional_only_those_who_set_it_up_are_asked(settings):
    settings.FACESITE_TWO_STEP_REQUIRED = False
    without = UserFactory(is_staff=True)
    client, landed = signed_in(without)
    assert landed == "/admin/" and client.get("/admin/").status_code == 200
    secret, _ = set_up(client)  # of their own accord, from "Two-step sign-in" at the top right
    later, landed = signed_in(without)
    assert landed.startswith("/admin/two-step/")
    later.post(landed, {"code": code_after(secret, 1)})
    assert later.get("/admin/").status_code == 200
    assert second_steps(without) == ["none", "set up", "authenticator"], "a password alone signed them in first"
    sign_ins = AuditEvent.objects.filter(action__in=["user.sign_in", "user.locked_out"])
    auditor = Client()
    auditor.force_login(UserFactory(is_staff=True, is_superuser=True))  # optional here: no code asked of them
    page = auditor.get("/admin/recognition/auditevent/?kind=sign_ins").content.decode()
    assert page.count(f"{without.username} signed in") == 3
    assert "signed in" not in auditor.get("/admin/recognition/auditevent/?kind=done").content.decode()
    assert not sign_ins.filter(pk__in=[e.pk for e, _ in recent_activity()]).exists(), "not on the dashboard"


@pytest.mark.django_db
def test_the_next_page_stays_on_this_site(required):
    user = UserFactory(is_staff=True)
    secret, _ = set_up(signed_in(user)[0])
    client = signed_in(user)[0]
    answer = client.post("/admin/two-step/?next=https://evil.example/", {"code": code_after(secret, 1)})
    assert answer.status_code == 302 and answer["Location"] == "/admin/"


@pytest.mark.django_db
def test_a_new_secrets_key_says_to_reset_rather_than_failing(required, settings):
    user = UserFactory(is_staff=True)
    secret, _ = set_up(signed_in(user)[0])
    halfway = UserFactory(is_staff=True)
    setting_up, landed = signed_in(halfway)
    setting_up.get(landed)  # a secret made, not yet confirmed
    settings.FACESITE_SECRETS_KEY = "a key other than the one they were sealed under"

    client, landed = signed_in(user)
    answer = client.post(landed, {"code": code_after(secret, 1)})
    assert answer.status_code == 200
    assert "Ask an administrator to reset your two-step sign-in" in answer.content.decode(), "not a server error"
    assert setting_up.get(landed).status_code == 200, "a new secret to scan"
    set_up(setting_up)
    assert setting_up.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_days_to_set_it_up_with_a_password_alone_end_until_an_administrator_gives_more(required, settings):
    settings.FACESITE_TWO_STEP_SETUP_DAYS = 7
    administrator = UserFactory(is_staff=True, is_superuser=True)
    admin_client = signed_in(administrator)[0]
    set_up(admin_client)
    late = UserFactory(is_staff=True, username="late", date_joined=timezone.now() - timedelta(days=8))

    client, sent_to = signed_in(late)
    page = client.get(sent_to).content.decode()
    assert "The time to set up two-step sign-in with your password alone ended on" in page
    assert "two-step-secret" not in page, "no secret is offered"
    assert "two-step-secret" not in client.get("/admin/two-step/setup/").content.decode()
    assert "ended on" in client.post("/admin/two-step/setup/", {"code": "123456"}).content.decode()
    assert client.get("/admin/").status_code == 302 and not Authenticator.objects.filter(user=late).exists()
    refused = AuditEvent.objects.filter(action="two_step.setup_refused")
    assert refused.count() == 1 and refused.get().actor == late, "once a session, however often it asks"
    signed_in(late)
    assert refused.count() == 2

    answer = admin_client.post("/admin/auth/user/", {"action": "two_step_reset", "_selected_action": [late.pk]},
                               follow=True)  # fmt: skip
    said = [str(message) for message in answer.context["messages"]]
    assert said == ["late had not set up two-step sign-in: they may set it up after their password within 7 days."]
    client, sent_to = signed_in(late)
    set_up(client)
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_where_it_is_optional_a_late_user_may_still_set_it_up_from_inside(settings):
    settings.FACESITE_TWO_STEP_SETUP_DAYS = 7
    late = UserFactory(is_staff=True, date_joined=timezone.now() - timedelta(days=30))
    client, _ = signed_in(late)
    assert client.get("/admin/").status_code == 200
    set_up(client)
    assert Authenticator.objects.filter(user=late).exists()


@pytest.mark.django_db
def test_no_limit_where_the_days_are_zero(required, settings):
    settings.FACESITE_TWO_STEP_SETUP_DAYS = 0
    late = UserFactory(is_staff=True, date_joined=timezone.now() - timedelta(days=3650))
    client, _ = signed_in(late)
    set_up(client)
    assert client.get("/admin/").status_code == 200
