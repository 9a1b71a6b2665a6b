"""Reviewing faces: confirm who a face is, reassign it, reject the match, or send it to review.

Decisions record the reviewer and time, and re-analysis keeps them (``results.keep_decision``).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from recognition.audit import Actor, audit_record, authenticated_user
from recognition.exceptions import ReviewError
from recognition.models import AuditEvent, Face, Person
from recognition.services.access import ENROL, require_permission
from recognition.services.people import reference_from_sighting


def face_review_confirm(
    *, face: Face, reviewer: Actor, person: Person | None = None, add_reference: bool = False,
    client_ip: str | None = None, via: str = "admin",
) -> Face:  # fmt: skip
    """Confirm who a face is: the candidate, or ``person`` (a reassignment). With ``add_reference``, also enrol
    it as a new reference face of that person, which needs the enrol permission and a face good enough to
    identify them; if that fails, nothing is decided. The decision is kept through re-analysis."""
    _check_reviewable(face)
    if add_reference:
        require_permission(reviewer, ENROL, to="enrol reference faces")
    person = person or face.candidate or face.person
    if person is None:
        raise ReviewError("There is no candidate to confirm; choose a person.", code="no_candidate")
    reassigned = bool(face.candidate_id) and person.pk != face.candidate_id
    with transaction.atomic():
        face.person = person
        _decide(face, Face.Review.CONFIRMED, reviewer, "person")
        audit_record(
            actor=reviewer,
            action=AuditEvent.Action.FACE_REASSIGN if reassigned else AuditEvent.Action.FACE_CONFIRM,
            target=face,
            client_ip=client_ip,
            person=str(person.pk),
            similarity=face.similarity,
            add_reference=add_reference,
        )
        if add_reference:
            reference_from_sighting(face=face, person=person, actor=reviewer, client_ip=client_ip, via=via)
    return face


def face_review_reject(*, face: Face, reviewer: Actor, client_ip: str | None = None) -> Face:
    """Not this person: the face loses its automatic match, and re-analysis will not assign it again."""
    _check_reviewable(face)
    with transaction.atomic():
        rejected = face.person_id or face.candidate_id
        if face.person_id:
            face.candidate_id = face.person_id
        face.person = None
        _decide(face, Face.Review.REJECTED, reviewer, "person", "candidate")
        audit_record(actor=reviewer, action=AuditEvent.Action.FACE_REJECT, target=face, client_ip=client_ip,
                     rejected_person=str(rejected) if rejected else None)  # fmt: skip
    return face


def face_flag_for_review(*, face: Face, actor: Actor, client_ip: str | None = None) -> None:
    """Put a face in the review queue, whatever its match."""
    Face.objects.sightings().filter(pk=face.pk).update(review_state=Face.Review.NEEDS_REVIEW)
    audit_record(actor=actor, action=AuditEvent.Action.FACE_FLAG, target=face, client_ip=client_ip)


def _check_reviewable(face: Face) -> None:
    if face.is_reference:
        raise ReviewError("Reference faces are not reviewed.", code="not_reviewable")


def _decide(face: Face, state: Face.Review, reviewer: Actor, *changed: str) -> None:
    face.review_state = state
    face.reviewed_by = authenticated_user(reviewer)
    face.reviewed_at = timezone.now()
    face.save(update_fields=[*changed, "review_state", "reviewed_by", "reviewed_at"])
