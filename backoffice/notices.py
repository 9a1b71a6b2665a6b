"""Security notices: an e-mail to a back-office user when their sign-in changes, or is used in a way they
should hear of at once (a recovery code, a copy of a key, someone with their password refused a late set-up or
a code).
If it was not them, they know to tell an administrator before more is done with their account.

Each notice tells of one audit event (``backoffice.two_step``, ``backoffice.security_keys`` record them), sent
by a task on the deliveries queue once the event commits, to the user's own address; none without one, or
with ``FACESITE_SECURITY_NOTICES`` off.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from recognition.audit import Actor, audit_record
from recognition.models import AuditEvent
from recognition.services.queue import DELIVERIES, enqueue_after_commit

SEND_SECURITY_NOTICE = "backoffice.tasks.send_security_notice"
Action = AuditEvent.Action
#: What each event tells its user, as the subject; ``{key}``, ``{actor}`` from the event.
NOTICES = {
    Action.TWO_STEP_SET_UP: "An authenticator app was set up for your sign-in",
    Action.TWO_STEP_RECOVERY: "A recovery code was used to sign in as you",
    Action.TWO_STEP_RESET: "Your two-step sign-in was reset by {actor}",
    Action.TWO_STEP_SETUP_REFUSED: "Someone signed in with your password and was refused setting up two-step sign-in",
    Action.SECURITY_KEY_ADDED: "A security key was added to your sign-in: “{key}”",
    Action.SECURITY_KEY_REMOVED: "A security key was removed from your sign-in: “{key}”",
    Action.SECURITY_KEY_COPY: "What may be a copy of your security key “{key}” was refused",
    Action.KEYS_ONLY_ON: "Your sign-in now takes security keys only",
    Action.KEYS_ONLY_OFF: "Your sign-in takes codes again, as well as security keys",
    Action.KEYS_ONLY_CODE: "Someone signed in with your password and typed a code, refused: you sign in with keys only",
    Action.USER_LOCKED_OUT: "Your sign-in was locked after wrong codes from someone who knew your password",
}
SENT_FOR = 7 * 24 * 3600  # how long a sent notice is remembered, so that a task run twice sends it once


def audit_and_tell(
    *, actor: Actor, action: AuditEvent.Action, target: Any, client_ip: str | None, **details: Any
) -> AuditEvent:
    """``audit_record`` of ``action`` on the sign-in of ``target`` (a user), with the notice of it to them queued
    (``security_notice_queue``); ``target`` None: a row about no one in particular, told to no one."""
    event = audit_record(actor=actor, action=action, target=target, client_ip=client_ip, **details)
    security_notice_queue(event)
    return event


def security_notice_queue(event: AuditEvent) -> None:
    """Queue the notice of ``event`` to go once it commits, if it is one of ``NOTICES`` and its target is a
    user (a lockout at the password names none: whoever typed the name may not know the password)."""
    if settings.FACESITE_SECURITY_NOTICES and event.action in NOTICES and event.object_type == "user":
        enqueue_after_commit(task=SEND_SECURITY_NOTICE, args=[str(event.pk)], queue=DELIVERIES)


def security_notice_email(*, event_id: str) -> bool:
    """E-mail the notice of one event to its user; False when there is none to send (no such event or user,
    no address, or sent already)."""
    event = AuditEvent.objects.filter(pk=event_id, action__in=NOTICES, object_type="user").first()
    user = get_user_model().objects.filter(pk=event.object_id).first() if event else None
    if event is None or user is None or not user.email or cache.get(_sent(event_id)):
        return False
    details = event.details or {}
    actor = event.actor_name or "an administrator"
    what = NOTICES[Action(event.action)].format(key=details.get("key", ""), actor=actor)
    when = date_format(timezone.localtime(event.created_at), "DATETIME_FORMAT")
    where = f" from {event.client_ip}" if event.client_ip else ""
    page = settings.FACESITE_PUBLIC_URL.rstrip("/") + reverse("admin:two_step_settings")
    body = (
        f"{what}, on {when}{where}.\n\n"
        f"If that was you, there is nothing to do. If it was not, someone else may know your password: tell an "
        f"administrator now, and change your password.\n\nYour two-step sign-in: {page}\n"
    )
    send_mail(f"{settings.FACESITE_TWO_STEP_ISSUER}: {what}", body, None, [user.email])
    cache.set(_sent(event_id), True, SENT_FOR)
    return True


def _sent(event_id: str) -> str:
    return f"facesite:security-notice-sent:{event_id}"
