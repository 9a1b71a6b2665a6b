"""Permissions that services enforce themselves, for actions too sensitive to leave to each caller, and
whose face may be kept as a reference at all."""

from __future__ import annotations

from django.conf import settings

from recognition.audit import Actor
from recognition.exceptions import EnrolmentError, NotAllowed
from recognition.models import Person

ENROL = "recognition.enroll_person"
SEARCH = "recognition.search_faces"


def require_permission(actor: Actor, permission: str, *, to: str) -> None:
    """Refuse (``NotAllowed``) a user without ``permission``. ``None`` is the system itself (commands, tasks)."""
    if actor is not None and not actor.has_perm(permission):  # type: ignore[union-attr]
        raise NotAllowed(f"You need the permission to {to}.")


def require_consent(person: Person) -> None:
    """Refuse (``EnrolmentError``, code ``no_consent``) to keep a reference face of ``person`` while their
    consent is not on record, where FACESITE_ENROL_REQUIRES_CONSENT asks for it."""
    if settings.FACESITE_ENROL_REQUIRES_CONSENT and person.consent_given_at is None:
        raise EnrolmentError(
            f"{person.name} has no consent on record; record when they gave it (consent_given_at) before "
            "keeping their face.",
            code="no_consent",
        )
