"""Deleting biometric data: images, single reference faces, and whole people (erasure)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from recognition import thumbnails
from recognition.audit import Actor, audit_record
from recognition.models import AuditEvent, Face, Image, Person
from recognition.services.collections import collections_changed, engine_forget
from recognition.services.files import delete_files_after_commit


def image_delete(*, image: Image, actor: Actor = None, client_ip: str | None = None) -> None:
    """Delete an image, its results and its file; reference faces in it leave their collections."""
    references = list(image.faces.references().select_related("collection"))
    with transaction.atomic():
        audit_record(actor=actor, action=AuditEvent.Action.IMAGE_DELETE, target=image, client_ip=client_ip)
        _delete_image_row(image)
        collections_changed(references=references)
    engine_forget(references=references)


def reference_face_remove(*, face: Face, actor: Actor = None, client_ip: str | None = None) -> None:
    """Remove an enrolled face: from the engine's collection, the database and storage."""
    image = face.image
    with transaction.atomic():
        audit_record(actor=actor, action=AuditEvent.Action.FACE_DELETE, target=face, client_ip=client_ip,
                     person=str(face.person_id))  # fmt: skip
        delete_files_after_commit(names=thumbnails.cached_names(face_ids=[face.pk]))
        face.delete()
        if image.source == Image.Source.ENROLMENT and not image.faces.exists():
            _delete_image_row(image)
        collections_changed(references=[face])
    engine_forget(references=[face])


@dataclass(frozen=True)
class ErasureReport:
    reference_faces: int
    matched_faces: int
    images: int
    sole_subject_images: int = 0


@dataclass(frozen=True)
class ErasurePlan:
    """What erasing a person removes; the admin's confirmation page shows the same plan."""

    references: list[Face]
    matched: list[Face]
    photos: set[Image]  # enrolment photos; a reference made from a sighting leaves its image alone
    sole_subject: set[Image]

    @property
    def report(self) -> ErasureReport:
        return ErasureReport(
            reference_faces=len(self.references),
            matched_faces=len(self.matched),
            images=len(self.photos),
            sole_subject_images=len(self.sole_subject),
        )


def sole_subject_images(*, person: Person) -> QuerySet[Image]:
    """Analysed images in which every face found is this person (candidates for erasure too)."""
    others = Face.objects.sightings().exclude(person=person).values("image_id")
    return (
        Image.objects.exclude(source=Image.Source.ENROLMENT)
        .filter(faces__person=person, faces__is_reference=False)
        .exclude(pk__in=others)
        .distinct()
    )


def person_erasure_plan(*, person: Person) -> ErasurePlan:
    """What ``person_erase`` would remove, for a confirmation page."""
    faces = list(Face.objects.filter(person=person).select_related("collection", "image"))
    references = [f for f in faces if f.is_reference]
    sole = set(sole_subject_images(person=person)) if settings.FACESITE_ERASE_SOLE_SUBJECT_IMAGES else set()
    return ErasurePlan(
        references=references,
        matched=[f for f in faces if not f.is_reference],
        photos={f.image for f in references if f.image.source == Image.Source.ENROLMENT},
        sole_subject=sole,
    )


def person_erase(*, person: Person, actor: Actor = None, client_ip: str | None = None) -> ErasureReport:
    """Delete a person and every biometric trace of them: reference faces (wherever they were
    enrolled from) and their photos, faces matched to them in other images, and their entries in
    engine collections; with ``FACESITE_ERASE_SOLE_SUBJECT_IMAGES``, also the images in which they
    are the only face. Verification records keep the badge and outcome but lose the link to the person."""
    with transaction.atomic():
        plan = person_erasure_plan(person=person)
        report = plan.report
        audit_record(
            actor=actor,
            action=AuditEvent.Action.PERSON_ERASE,
            target=person,
            client_ip=client_ip,
            name=person.name,
            external_id=person.external_id,
            **report.__dict__,
        )
        faces = plan.references + plan.matched
        delete_files_after_commit(names=thumbnails.cached_names(face_ids=[f.pk for f in faces]))
        # Explicitly: the foreign key only nulls the person, which would leave their embeddings behind.
        Face.objects.filter(pk__in=[f.pk for f in faces]).delete()
        Face.objects.filter(candidate=person).update(candidate=None, similarity=None, review_state=Face.Review.NONE)
        for image in plan.photos | plan.sole_subject:
            _delete_image_row(image)
        collections_changed(references=plan.references)
        person.delete()
    engine_forget(references=plan.references)
    return report


def _delete_image_row(image: Image) -> None:
    names = thumbnails.cached_names(image_ids=[image.pk], face_ids=list(image.faces.values_list("pk", flat=True)))
    if image.file.name:
        names.append(image.file.name)
    image.delete()
    delete_files_after_commit(names=names)
