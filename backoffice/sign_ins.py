"""The audit rows of sign-ins and lockouts, which both the password (``backoffice.auth``) and the second step
(``backoffice.two_step``) write; the failures toward a lockout are counted by ``recognition.lockouts``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from backoffice.notices import audit_and_tell
from recognition.audit import audit_record, request_ip
from recognition.models import AuditEvent


def lockout_record(*, actor: Any, username: str, request: HttpRequest | None, step: str) -> None:
    """The audit row of a sign-in locked after failed attempts (once a lockout): whose, from where, at which
    step (``password``, ``second step``). At the second step, whoever it was knew the password: the user is
    told (``backoffice.notices``)."""
    whose = actor if step == "second step" else None
    audit_and_tell(actor=actor, action=AuditEvent.Action.USER_LOCKED_OUT, target=whose, client_ip=request_ip(request),
                   username=username, step=step, minutes=max(1, settings.FACESITE_LOCKOUT_SECONDS // 60))  # fmt: skip


def sign_in_record(*, user: Any, request: HttpRequest | None, second_step: str) -> None:
    """The audit row of a completed sign-in, with what the second step was (``none``, ``authenticator``,
    ``recovery code``, ``set up``)."""
    audit_record(actor=user, action=AuditEvent.Action.USER_SIGN_IN, client_ip=request_ip(request),
                 second_step=second_step, path=request.path if request else "")  # fmt: skip
