"""People and their reference faces: creating and changing people, enrolling photos and sightings."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recognition.audit import Actor, audit_record
from recognition.engine_handler import get_engine
from recognition.engines import base as engine_types
from recognition.exceptions import EngineFailed, EnrolmentError, engine_call
from recognition.models import AuditEvent, Collection, Face, Image, Person
from recognition.services import thumbnails
from recognition.services.access import ENROL, require_consent, require_consent_kept, require_permission
from recognition.services.collections import collections_changed
from recognition.services.files import stored_file
from recognition.services.ingest import new_image
from recognition.services.reindex import restoring
from recognition.services.results import face_row
from recognition.validation import CheckedImage, ImageInfo, checked


def person_save(
    *, person: Person, changes: Mapping[str, Any], actor: Actor, client_ip: str | None = None, via: str = "api"
) -> Person:
    """Create ``person`` (a new instance) or change it, applying ``changes``, and record who did it."""
    created = person._state.adding
    if "consent_given_at" in changes:
        require_consent_kept(person, changes["consent_given_at"])
    for name, value in changes.items():
        setattr(person, name, value)
    with transaction.atomic():
        person.save()
        audit_record(
            actor=actor,
            action=AuditEvent.Action.PERSON_CREATE if created else AuditEvent.Action.PERSON_UPDATE,
            target=person,
            client_ip=client_ip,
            via=via,
            fields=sorted(changes),
        )
    return person


def person_enroll(
    *,
    person: Person,
    data: bytes | CheckedImage,
    collection: Collection | None = None,
    uploaded_by: Actor = None,
    filename: str = "",
    client_ip: str | None = None,
    via: str = "api",
) -> Face:
    """Add a reference photo of ``person``: exactly one face, good enough to identify them, indexed into the
    collection. Raises ``EnrolmentError`` saying what is wrong with the photo (or that the person's consent
    is not on record, where that is required), ``NotAllowed`` when ``uploaded_by`` may not enrol (``None``
    is the system itself)."""
    require_permission(uploaded_by, ENROL, to="enrol reference faces")
    try:
        require_consent(person)
        return _enrol(person=person, photo=checked(data), collection=collection or Collection.get_default(),
                      uploaded_by=uploaded_by, filename=filename, client_ip=client_ip, via=via)  # fmt: skip
    except (EnrolmentError, EngineFailed) as exc:
        if exc.retryable:
            raise  # nothing was wrong with the photo: the engine was busy
        audit_record(actor=uploaded_by, action=AuditEvent.Action.PERSON_ENROL_REFUSED, target=person,
                     client_ip=client_ip, via=via, code=exc.code, filename=filename[:255])  # fmt: skip
        raise


def _enrol(
    *, person: Person, photo: CheckedImage, collection: Collection, uploaded_by: Actor, filename: str,
    client_ip: str | None, via: str,
) -> Face:  # fmt: skip
    engine = get_engine()
    with engine_call():
        engine.create_collection(collection.name)
        faces = engine.detect_faces(photo.data, attributes=False)
    if not faces:
        raise EnrolmentError("No face was found in the photo.", code="no_face")
    if len(faces) > 1:
        raise EnrolmentError(
            f"{len(faces)} faces were found; a reference photo must show exactly one person.", code="several_faces"
        )
    check_reference_quality(face=faces[0], info=photo.info)
    face_key = uuid.uuid4()  # the row's id, known to the engine as the face's external image id
    with engine_call():
        indexed = restoring(
            collection=collection,
            engine=engine,
            call=partial(engine.index_faces, collection.name, photo.data, external_image_id=str(face_key), max_faces=1),
        )
    if not indexed:
        raise EnrolmentError("The engine could not index the face.", code="not_indexed")
    face_id = indexed[0].face_id
    try:
        with engine_call():
            engine.associate_faces(collection.name, person.engine_user_id, [face_id])
    except BaseException:
        engine.delete_faces(collection.name, [face_id])
        raise
    image = new_image(
        info=photo.info,
        original_filename=filename[:255],
        source=Image.Source.ENROLMENT,
        collection=collection,
        features=["faces"],
        status=Image.Status.DONE,
        engine=engine.name,
        model_version=engine.model_version,
        analysed_at=timezone.now(),
        uploaded_by=uploaded_by,
    )
    try:
        with stored_file(image=image, data=photo.data, extension=photo.info.extension), transaction.atomic():
            image.save()
            row = face_row(image=image, face=indexed[0].face, engine=engine.name, model_version=engine.model_version)
            row.pk = face_key
            row.is_reference = True
            row.collection = collection
            row.engine_face_id = face_id
            row.person = person
            row.save()
            collections_changed(references=[row])
            audit_record(actor=uploaded_by, action=AuditEvent.Action.PERSON_ENROL, target=row, client_ip=client_ip,
                         via=via, person=str(person.pk))  # fmt: skip
    except BaseException:
        engine.disassociate_faces(collection.name, person.engine_user_id, [face_id])
        engine.delete_faces(collection.name, [face_id])
        raise
    return row


def check_reference_quality(*, face: engine_types.FaceDetail, info: ImageInfo) -> None:
    """Refuse a face too small or too blurry to identify anyone reliably."""
    side = min(face.bounding_box.width * info.width, face.bounding_box.height * info.height)
    minimum = settings.FACESITE_ENROL_MIN_FACE_PIXELS
    if side < minimum:
        raise EnrolmentError(
            f"The face is too small ({side:.0f} px); a reference face needs at least {minimum} px. "
            "Use a closer or larger photo.",
            code="face_too_small",
        )
    sharpness = face.quality.get("Sharpness")
    if sharpness is not None and sharpness < settings.FACESITE_ENROL_MIN_SHARPNESS:
        raise EnrolmentError(
            f"The face is too blurry (sharpness {sharpness:.0f}, at least "
            f"{settings.FACESITE_ENROL_MIN_SHARPNESS:.0f} needed). Use a sharper photo.",
            code="face_too_blurry",
        )


def reference_from_sighting(
    *, face: Face, person: Person, actor: Actor, client_ip: str | None = None, via: str = "api"
) -> Face:
    """Enrol a confirmed sighting as a reference face of ``person``, exactly as a photo is enrolled: the actor
    needs the enrol permission, the face passes the same quality gate, and the engine indexes it (so engines
    with server-side collections know it too). The reference photo is the face cut from the sighting."""
    require_permission(actor, ENROL, to="enrol reference faces")
    return person_enroll(
        person=person,
        data=thumbnails.face_photo(face),
        collection=face.image.collection,
        uploaded_by=actor,
        filename=f"sighting-{face.pk}.jpg",
        client_ip=client_ip,
        via=via,
    )
