"""Permissions that services enforce themselves, for actions too sensitive to leave to each caller, and
whose face may be kept as a reference at all."""

from __future__ import annotations

from django.conf import settings

from recognition.audit import Actor
from recognition.exceptions import EnrolmentError, InvalidInput, NotAllowed
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


def require_consent_kept(person: Person, consent_given_at: object) -> None:
    """Refuse (``InvalidInput`` on ``consent_given_at``) to clear the consent of a person whose face is kept as a
    reference, where FACESITE_ENROL_REQUIRES_CONSENT asks for it: withdrawn consent means their face goes."""
    if (
        settings.FACESITE_ENROL_REQUIRES_CONSENT
        and consent_given_at is None
        and not person._state.adding
        and person.faces.filter(is_reference=True).exists()
    ):
        raise InvalidInput(
            f"{person.name}'s face is kept as a reference on this consent. To withdraw it, remove their reference "
            "faces first, or erase them.",
            code="consent_in_use",
            field="consent_given_at",
        )
