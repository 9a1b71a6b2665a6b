"""Security notices: a back-office user is e-mailed, by a task on the deliveries queue, when their two-step
sign-in changes or is used in a way they should hear of; once each, at their own address."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from backoffice.notices import SEND_SECURITY_NOTICE, security_notice_email
from recognition.models import AuditEvent
from tests.factories import UserFactory
from tests.helpers import queued_tasks
from tests.security_key import SoftwareKey
from tests.two_step import ORIGIN, code_after, key_added, set_up, signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_queues")]


@pytest.fixture(autouse=True)
def mail_set_up(settings):
    settings.FACESITE_PUBLIC_URL = "https://faces.example.org"
    settings.FACESITE_SECURITY_NOTICES = True  # its default where e-mail is set up (tests/facesite/test_settings.py)


def sent(action: AuditEvent.Action) -> list:
    """Run the notice task's work for the latest event of ``action``; the e-mails sent so far."""
    event = AuditEvent.objects.filter(action=action).latest("pk")
    assert security_notice_email(event_id=str(event.pk))
    assert not security_notice_email(event_id=str(event.pk)), "sent once, however often the task runs"
    return mail.outbox


def test_setting_up_and_adding_a_key_each_tell_the_user(django_capture_on_commit_callbacks):
    user = UserFactory(is_staff=True, email="kim@example.org")
    client, _ = signed_in(user)
    with django_capture_on_commit_callbacks(execute=True):
        set_up(client)
        options = client.post("/admin/two-step/security-keys/add/options/").json()["options"]
        client.post("/admin/two-step/security-keys/add/",
                    {"name": "Blue key", "credential": SoftwareKey().create(options, origin=ORIGIN)})  # fmt: skip
    assert queued_tasks("deliveries").count(SEND_SECURITY_NOTICE) == 2, "sent by the io worker"

    [set_up_notice] = sent(AuditEvent.Action.TWO_STEP_SET_UP)
    assert set_up_notice.to == ["kim@example.org"]
    assert set_up_notice.subject == "Facesite: An authenticator app was set up for your sign-in"
    [_, key_notice] = sent(AuditEvent.Action.SECURITY_KEY_ADDED)
    assert key_notice.subject == "Facesite: A security key was added to your sign-in: “Blue key”"
    assert "from 127.0.0.1" in key_notice.body and "tell an administrator now" in key_notice.body
    assert "https://faces.example.org/admin/two-step/settings/" in key_notice.body


def test_a_recovery_code_used_tells_the_user(django_capture_on_commit_callbacks):
    user = UserFactory(is_staff=True, email="ray@example.org")
    _, codes = set_up(signed_in(user)[0])
    client, sent_to = signed_in(user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(sent_to, {"code": codes[0]})
    assert client.get("/admin/").status_code == 200
    [recovery] = sent(AuditEvent.Action.TWO_STEP_RECOVERY)
    assert recovery.subject == "Facesite: A recovery code was used to sign in as you"


def test_a_reset_tells_the_user_who_did_it(django_capture_on_commit_callbacks):
    user = UserFactory(is_staff=True, username="lee", email="lee@example.org")
    set_up(signed_in(user)[0])
    with django_capture_on_commit_callbacks(execute=True):
        call_command("two_step_reset", "lee", stdout=StringIO())
    [reset] = sent(AuditEvent.Action.TWO_STEP_RESET)
    assert reset.subject == "Facesite: Your two-step sign-in was reset by an administrator"


def test_a_password_used_after_the_set_up_days_tells_its_owner(settings, django_capture_on_commit_callbacks):
    settings.FACESITE_TWO_STEP_REQUIRED, settings.FACESITE_TWO_STEP_SETUP_DAYS = True, 7
    user = UserFactory(is_staff=True, email="old@example.org", date_joined=timezone.now() - timedelta(days=30))
    client, sent_to = signed_in(user)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(sent_to)
    [refused] = sent(AuditEvent.Action.TWO_STEP_SETUP_REFUSED)
    assert refused.subject == (
        "Facesite: Someone signed in with your password and was refused setting up two-step sign-in"
    )


def test_wrong_codes_after_the_password_tell_the_user_but_wrong_passwords_do_not(
    settings, django_capture_on_commit_callbacks
):
    settings.FACESITE_LOGIN_FAILURES = 2
    user = UserFactory(is_staff=True, username="max", email="max@example.org")
    set_up(signed_in(user)[0])
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            Client(REMOTE_ADDR="192.0.2.9").post("/admin/login/", {"username": "max", "password": "wrong"})
        queued = queued_tasks("deliveries").count(SEND_SECURITY_NOTICE)
        guesser, sent_to = signed_in(user)
        for _ in range(2):
            guesser.post(sent_to, {"code": "000000"})
    lockouts = AuditEvent.objects.filter(action=AuditEvent.Action.USER_LOCKED_OUT).order_by("pk")
    assert [event.details["step"] for event in lockouts] == ["password", "second step"]
    assert queued_tasks("deliveries").count(SEND_SECURITY_NOTICE) == queued + 1, "the second step's only"
    [locked] = sent(AuditEvent.Action.USER_LOCKED_OUT)
    assert locked.subject == "Facesite: Your sign-in was locked after wrong codes from someone who knew your password"


def test_choosing_keys_only_and_a_code_typed_against_it_tell_the_user(django_capture_on_commit_callbacks):
    user = UserFactory(is_staff=True, email="sam@example.org")
    client, _ = signed_in(user)
    with django_capture_on_commit_callbacks(execute=True):
        secret, _ = set_up(client)
        key_added(client, SoftwareKey())
        client.post("/admin/two-step/settings/", {"keys_only": "on"})
        phisher, sent_to = signed_in(user)
        phisher.post(sent_to, {"code": code_after(secret, 1)})
    [*_, chosen] = sent(AuditEvent.Action.KEYS_ONLY_ON)
    assert chosen.subject == "Facesite: Your sign-in now takes security keys only"
    [*_, refused] = sent(AuditEvent.Action.KEYS_ONLY_CODE)
    assert refused.subject == (
        "Facesite: Someone signed in with your password and typed a code, refused: you sign in with keys only"
    )
    assert queued_tasks("deliveries").count(SEND_SECURITY_NOTICE) == 4, "set up, key added, keys only, the code"


def test_no_notice_without_an_address_or_where_they_are_off(settings, django_capture_on_commit_callbacks):
    nameless = UserFactory(is_staff=True, email="")
    client, _ = signed_in(nameless)
    with django_capture_on_commit_callbacks(execute=True):
        set_up(client)
    event = AuditEvent.objects.get(action=AuditEvent.Action.TWO_STEP_SET_UP)
    assert not security_notice_email(event_id=str(event.pk)) and mail.outbox == []

    settings.FACESITE_SECURITY_NOTICES = False
    user = UserFactory(is_staff=True, email="quiet@example.org")
    queued = queued_tasks("deliveries").count(SEND_SECURITY_NOTICE)
    with django_capture_on_commit_callbacks(execute=True):
        set_up(signed_in(user)[0])
    assert queued_tasks("deliveries").count(SEND_SECURITY_NOTICE) == queued


def test_the_task_the_notices_name_is_the_workers_and_runs_on_the_deliveries_queue(settings):
    from facesite.celery import app

    app.loader.import_default_modules()
    assert SEND_SECURITY_NOTICE in app.tasks
    assert settings.CELERY_TASK_ROUTES[SEND_SECURITY_NOTICE] == {"queue": "deliveries"}
