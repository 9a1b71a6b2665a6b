"""Reference faces as Rekognition's collection calls see them: index every face of a photo (owned by no
one yet), give faces to a person or take them back, and find faces like a stored one.

``people.person_enroll`` is the back office's one-photo-one-person enrolment; these serve clients that
manage faces and their owners separately (the Rekognition-compatible API).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from django.db import transaction
from django.utils import timezone

from recognition.audit import Actor, audit_record
from recognition.engine_handler import get_engine
from recognition.engines import base as engine_types
from recognition.exceptions import engine_call
from recognition.models import AuditEvent, Collection, Face, Image, Person
from recognition.services.access import ENROL, require_consent, require_permission
from recognition.services.collections import collections_changed
from recognition.services.files import stored_file
from recognition.services.ingest import new_image
from recognition.services.quality import quality_faults
from recognition.services.reindex import restoring
from recognition.services.results import face_row
from recognition.validation import CheckedImage, checked


@dataclass(frozen=True)
class Unindexed:
    face: engine_types.FaceDetail
    reasons: tuple[str, ...]  # Rekognition's: EXCEEDS_MAX_FACES, SMALL_BOUNDING_BOX, LOW_SHARPNESS...


@dataclass
class IndexResult:
    image: Image | None
    indexed: list[tuple[Face, engine_types.FaceDetail]] = field(default_factory=list)
    unindexed: list[Unindexed] = field(default_factory=list)


def faces_index(
    *,
    collection: Collection,
    data: bytes | CheckedImage,
    max_faces: int = 100,
    external_image_id: str = "",
    quality_filter: str = "AUTO",
    actor: Actor = None,
    client_ip: str | None = None,
    via: str = "rekognition-api",
) -> IndexResult:
    """Index the faces of a photo into the collection, largest first, up to ``max_faces``; faces too small
    or blurry for a reference (unless ``quality_filter`` is NONE) are left out with their reasons. The
    photo is kept as an image of the collection so the faces show in the back office."""
    require_permission(actor, ENROL, to="index reference faces")
    photo = checked(data)
    engine = get_engine()
    with engine_call():
        engine.create_collection(collection.name)
        faces = engine.detect_faces(photo.data, attributes=True)
    accepted, result = _sort_out(faces, photo, max_faces=max_faces, quality_filter=quality_filter)
    if not accepted:
        return IndexResult(image=None, unindexed=result)
    keys = [uuid.uuid4() for _ in accepted]
    with engine_call():
        indexed = restoring(
            collection=collection,
            engine=engine,
            call=partial(engine.index_faces, collection.name, photo.data, max_faces=len(faces)),
        )
    kept = _pair(accepted, indexed)
    unwanted = [i.face_id for i in indexed if i not in kept.values()]
    if unwanted:
        engine.delete_faces(collection.name, unwanted)
    image = new_image(
        info=photo.info, original_filename=external_image_id[:255], source=Image.Source.REKOGNITION_API,
        collection=collection, features=["faces"], status=Image.Status.DONE, engine=engine.name,
        model_version=engine.model_version, analysed_at=timezone.now(), uploaded_by=actor,
    )  # fmt: skip
    rows = []
    try:
        with stored_file(image=image, data=photo.data, extension=photo.info.extension), transaction.atomic():
            image.save()
            for key, face in zip(keys, accepted, strict=True):
                row = face_row(image=image, face=face, engine=engine.name, model_version=engine.model_version)
                row.pk, row.is_reference, row.collection = key, True, collection
                row.engine_face_id = kept[id(face)].face_id
                row.external_image_id = external_image_id
                row.set_embedding(kept[id(face)].face.embedding)
                row.save()
                rows.append(row)
            collections_changed(references=rows)
            audit_record(actor=actor, action=AuditEvent.Action.FACES_INDEX, target=image, client_ip=client_ip,
                         via=via, collection=collection.name, faces=[str(r.pk) for r in rows])  # fmt: skip
    except BaseException:
        engine.delete_faces(collection.name, [k.face_id for k in kept.values()])
        raise
    return IndexResult(image=image, indexed=list(zip(rows, accepted, strict=True)), unindexed=result)


def _sort_out(
    faces: list[engine_types.FaceDetail], photo: CheckedImage, *, max_faces: int, quality_filter: str
) -> tuple[list[engine_types.FaceDetail], list[Unindexed]]:
    accepted: list[engine_types.FaceDetail] = []
    refused: list[Unindexed] = []
    for face in faces:  # largest first
        reasons = quality_faults(face, photo, quality_filter)
        if not reasons and len(accepted) >= max_faces:
            reasons = ["EXCEEDS_MAX_FACES"]
        if reasons:
            refused.append(Unindexed(face=face, reasons=tuple(reasons)))
        else:
            accepted.append(face)
    return accepted, refused


def _pair(
    accepted: list[engine_types.FaceDetail], indexed: list[engine_types.IndexedFace]
) -> dict[int, engine_types.IndexedFace]:
    """Each accepted face with the indexed face of the same box (the engine detected them again)."""
    pairs: dict[int, engine_types.IndexedFace] = {}
    free = list(indexed)
    for face in accepted:
        best = max(free, key=lambda i: face.bounding_box.overlap(i.face.bounding_box), default=None)
        if best is None:
            raise RuntimeError("The engine indexed fewer faces than it detected.")
        pairs[id(face)] = best
        free.remove(best)
    return pairs


def faces_associate(
    *, person: Person, faces: Sequence[Face], actor: Actor = None, client_ip: str | None = None
) -> list[Face]:
    """Give reference faces that belong to no one (or to ``person`` already) to ``person``; the others
    are returned untouched."""
    require_permission(actor, ENROL, to="give faces to a person")
    require_consent(person)
    free = [f for f in faces if f.person_id in (None, person.pk)]
    _change_owner(free, person=person, to=person, actor=actor, client_ip=client_ip)
    return [f for f in faces if f not in free]


def faces_disassociate(
    *, person: Person, faces: Sequence[Face], actor: Actor = None, client_ip: str | None = None
) -> None:
    """Take reference faces away from ``person``: they stay in their collection, owned by no one."""
    require_permission(actor, ENROL, to="take faces from a person")
    theirs = [f for f in faces if f.person_id == person.pk]
    _change_owner(theirs, person=person, to=None, actor=actor, client_ip=client_ip)


def _change_owner(faces: list[Face], *, person: Person, to: Person | None, actor: Actor, client_ip: str | None) -> None:
    """Tell the engine first (its users), then the rows, with the audit row naming the person."""
    engine = get_engine()
    change = engine.associate_faces if to is not None else engine.disassociate_faces
    for collection in {f.collection for f in faces if f.collection}:
        ids = [f.engine_face_id for f in faces if f.collection_id == collection.pk and f.engine == engine.name]
        if ids:
            with engine_call():
                change(collection.name, person.engine_user_id, ids)
    action = AuditEvent.Action.FACES_ASSOCIATE if to is not None else AuditEvent.Action.FACES_DISASSOCIATE
    with transaction.atomic():
        Face.objects.filter(pk__in=[f.pk for f in faces]).update(person=to)
        collections_changed(references=faces)
        audit_record(actor=actor, action=action, target=person, client_ip=client_ip, faces=[str(f.pk) for f in faces])


def faces_like(
    *, collection: Collection, data: bytes, face: engine_types.FaceDetail, threshold: float, max_faces: int
) -> list[tuple[Face, float]]:
    """Reference faces of the collection like one face of ``data``, best first, as rows."""
    engine = get_engine()
    with engine_call():
        found = restoring(
            collection=collection,
            engine=engine,
            call=partial(engine.search_face, collection.name, data, face, threshold=threshold, max_matches=max_faces),
        )
    rows = Face.objects.references().filter(collection=collection, engine_face_id__in=[m.face_id for m in found])
    by_engine_id = {row.engine_face_id: row for row in rows}
    return [(by_engine_id[m.face_id], m.similarity) for m in found if m.face_id in by_engine_id]


def stored_face(face: Face) -> engine_types.FaceDetail:
    """A reference face as the engine described it, to search with it again."""
    return engine_types.FaceDetail(
        bounding_box=face.bounding_box, confidence=face.confidence, embedding=face.get_embedding()
    )
