"""The checks people wait on: search a face among enrolled people, verify a badge holder, compare two faces.

Each returns the service's own dataclasses (or the recorded ``Verification``), so the
API serialises results without knowing the engine's types.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

from django.db import transaction

from recognition.audit import Actor, audit_record, authenticated_user
from recognition.engine_handler import get_engine
from recognition.engines import base as engine_types
from recognition.engines.base import BoundingBox
from recognition.exceptions import Unprocessable, engine_call
from recognition.models import AuditEvent, Collection, Face, Person, Verification
from recognition.services.check_timing import timed_check
from recognition.services.collections import people_of
from recognition.services.quality import quality_faults
from recognition.services.reindex import restoring
from recognition.signals import verification_done
from recognition.validation import CheckedImage, checked


@dataclass(frozen=True)
class PersonMatch:
    person: Person
    similarity: float
    face: Face | None = None  # the person's reference face that matched best, where the engine says


@dataclass(frozen=True)
class FoundFace:
    """A face found in a searched image, with the enrolled people it matches, best first."""

    bounding_box: BoundingBox
    confidence: float
    matches: list[PersonMatch]


@dataclass(frozen=True)
class ComparedFace:
    bounding_box: BoundingBox
    confidence: float
    similarity: float
    match: bool


@dataclass(frozen=True)
class DetectedFace:
    bounding_box: BoundingBox
    confidence: float


@dataclass(frozen=True)
class Comparison:
    source_face: DetectedFace
    faces: list[ComparedFace]  # every face of the target, most similar first
    threshold: float


def _passing(
    result: engine_types.CompareResult, source: CheckedImage, target: CheckedImage, level: str
) -> engine_types.CompareResult:
    """``result`` with only the faces that pass the ``level`` bar; ``Unprocessable`` when the source's fails."""
    if faults := quality_faults(result.source_face, source, level):
        raise Unprocessable(f"The source image's face does not pass the quality filter ({', '.join(faults)}).",
                            code="no_face")  # fmt: skip
    return replace(
        result,
        matches=tuple(c for c in result.matches if not quality_faults(c.face, target, level)),
        unmatched=tuple(c for c in result.unmatched if not quality_faults(c.face, target, level)),
    )


@timed_check("search")
def faces_search(
    *, data: bytes | CheckedImage, collection: Collection, threshold: float, max_matches: int, actor: Actor = None,
    client_ip: str | None = None,
) -> list[FoundFace]:  # fmt: skip
    """Every face in the image with the enrolled people it matches, best first."""
    image = checked(data).data
    engine = get_engine()
    results = []
    with engine_call():
        for face in engine.detect_faces(image, attributes=False):
            found = restoring(
                collection=collection,
                engine=engine,
                call=partial(
                    engine.search_users, collection.name, image, face, threshold=threshold, max_users=max_matches
                ),
            )
            matches = _people_for(found, collection)
            results.append(FoundFace(bounding_box=face.bounding_box, confidence=face.confidence, matches=matches))
    audit_record(
        actor=actor,
        action=AuditEvent.Action.FACES_SEARCH,
        client_ip=client_ip,
        collection=collection.name,
        faces=len(results),
        matched=[str(m.person.pk) for r in results for m in r.matches],
    )
    return results


def _people_for(matches: list[engine_types.UserMatch], collection: Collection) -> list[PersonMatch]:
    people = people_of(matches)
    faces = {
        face.engine_face_id: face
        for face in Face.objects.references().filter(
            collection=collection, engine_face_id__in=[m.face_id for m in matches if m.face_id]
        )
    }
    return [
        PersonMatch(person=people[m.user_id], similarity=m.similarity, face=faces.get(m.face_id))
        for m in matches
        if m.user_id in people
    ]


@timed_check("verify")
def person_verify(
    *, external_id: str, data: bytes | CheckedImage, threshold: float, actor: Actor = None,
    client_ip: str | None = None, device: str = "", liveness: bool | None = None,
) -> Verification:  # fmt: skip
    """Two-factor check: is the face in the photo the badge holder's? Every call is recorded, with the kiosk
    (``device``) it was made at and, where a liveness challenge was asked, whether it was passed: a failed
    one is recorded as ``not_live`` whatever the face."""
    image = checked(data).data
    person = Person.objects.filter(external_id=external_id).first()
    similarity, box = None, None
    if person is None:
        outcome = Verification.Outcome.UNKNOWN_BADGE
    else:
        with engine_call():
            outcome, similarity, box = _verify_face(person, image, threshold)
        if liveness is False and outcome == Verification.Outcome.MATCH:
            outcome = Verification.Outcome.NOT_LIVE
    with transaction.atomic():
        verification = Verification.objects.create(
            external_id=external_id,
            person=person,
            outcome=outcome,
            match=outcome == Verification.Outcome.MATCH,
            similarity=similarity,
            threshold=threshold,
            bounding_box=box.as_dict() if box else None,
            requested_by=authenticated_user(actor),
            client_ip=client_ip,
            device=device,
            liveness="" if liveness is None else ("passed" if liveness else "failed"),
        )
        audit_record(
            actor=actor,
            action=AuditEvent.Action.PERSON_VERIFY,
            target=verification,
            client_ip=client_ip,
            external_id=external_id,
            outcome=outcome,
            similarity=similarity,
            device=device,
        )
        verification_done.send(sender=Verification, verification=verification)
    return verification


def _verify_face(
    person: Person, image: bytes, threshold: float
) -> tuple[Verification.Outcome, float | None, BoundingBox | None]:
    engine = get_engine()
    references = list(
        Face.objects.references()
        .made_by(engine=engine.name, model_version=engine.model_version)
        .filter(person=person)
        .select_related("collection")
    )
    if not references:
        return Verification.Outcome.NO_REFERENCE, None, None
    faces = engine.detect_faces(image, attributes=False)
    if not faces:
        return Verification.Outcome.NO_FACE, None, None
    if len(faces) > 1:
        return Verification.Outcome.SEVERAL_FACES, None, None
    scores: list[float] = []
    for collection in {f.collection for f in references if f.collection}:
        score = restoring(
            collection=collection,
            engine=engine,
            call=partial(engine.user_similarity, collection.name, image, faces[0], person.engine_user_id),
        )
        if score is not None:
            scores.append(score)
    similarity = max(scores) if scores else 0.0
    outcome = Verification.Outcome.MATCH if similarity >= threshold else Verification.Outcome.NO_MATCH
    return outcome, similarity, faces[0].bounding_box


@timed_check("compare")
def faces_compare(
    *, source: bytes | CheckedImage, target: bytes | CheckedImage, threshold: float, actor: Actor = None,
    client_ip: str | None = None, quality_filter: str = "NONE",
) -> Comparison:  # fmt: skip
    """The largest face of ``source`` against every face of ``target``; with a ``quality_filter`` other than
    NONE (Rekognition's), only faces that pass its bar (``quality_faults``) are compared."""
    source_photo, target_photo = checked(source), checked(target)
    with engine_call():
        result = get_engine().compare_faces(source_photo.data, target_photo.data, threshold=threshold)
    if quality_filter != "NONE":
        result = _passing(result, source_photo, target_photo, quality_filter)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.FACES_COMPARE,
        client_ip=client_ip,
        matches=len(result.matches),
        unmatched=len(result.unmatched),
    )
    source_face = result.source_face
    return Comparison(
        source_face=DetectedFace(source_face.bounding_box, source_face.confidence),
        faces=[
            ComparedFace(c.face.bounding_box, c.face.confidence, c.similarity, match=c.similarity >= threshold)
            for c in [*result.matches, *result.unmatched]
        ],
        threshold=threshold,
    )
