"""Deleting biometric data: images, single reference faces, and whole people (erasure)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import PROTECT, ForeignObjectRel, Q, QuerySet
from django.utils.crypto import salted_hmac

from recognition.audit import Actor, audit_record
from recognition.engine_handler import get_engine
from recognition.exceptions import Conflict
from recognition.models import AuditEvent, Collection, Face, Image, Person, Verification
from recognition.services import thumbnails
from recognition.services.collections import collections_changed, engine_forget
from recognition.services.exports import exports_delete_files
from recognition.services.files import delete_files_after_commit
from recognition.signals import person_erased

# Images stored only for the reference faces in them: they go with their last face.
KEPT_FOR_FACES = (Image.Source.ENROLMENT, Image.Source.REKOGNITION_API)


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
        if image.source in KEPT_FOR_FACES and not image.faces.exists():
            _delete_image_row(image)
        collections_changed(references=[face])
    engine_forget(references=[face])


def faces_delete(*, faces: QuerySet[Face]) -> int:
    """Delete these faces; their cached crops go once the deletion commits. How many faces went."""
    face_ids = list(faces.values_list("pk", flat=True))
    delete_files_after_commit(names=thumbnails.cached_names(face_ids=face_ids))
    return Face.objects.filter(pk__in=face_ids).delete()[1].get("recognition.Face", 0)


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
        Image.objects.exclude(source__in=KEPT_FOR_FACES)
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
        photos={
            f.image
            for f in references
            if f.image.source in KEPT_FOR_FACES and not f.image.faces.exclude(person=person).exists()
        },
        sole_subject=sole,
    )


def erasure_reference(person_id: uuid.UUID | str) -> str:
    """The pseudonym that stands for an erased person wherever a record must stay (audit trail, checks).

    Keyed with the secret key, so it cannot be recomputed from a person's id without it, yet the same
    person always gets the same one: records about them stay linkable to each other."""
    return "erased-" + salted_hmac("facesite.erasure", str(person_id)).hexdigest()[:20]


def person_erase(*, person: Person, actor: Actor = None, client_ip: str | None = None) -> ErasureReport:
    """Delete a person and every trace of them.

    Gone: reference faces (wherever they were enrolled from) and their photos, faces matched to them in
    other images, their entries in engine collections, the embeddings and crops of faces that merely had
    them as candidate, the subject access exports made of them, and, with
    ``FACESITE_ERASE_SOLE_SUBJECT_IMAGES``, images in which they are the only face. Redacted to a pseudonym
    (``erasure_reference``): their badge in verification records and in the audit details of those checks,
    and their name in Django's admin log. The erasure's own audit row names only the pseudonym.
    ``person_erased`` lets integrations redact the documents it keeps."""
    reference = erasure_reference(person.pk)
    with transaction.atomic():
        plan = person_erasure_plan(person=person)
        report = plan.report
        audit_record(actor=actor, action=AuditEvent.Action.PERSON_ERASE, target=person, client_ip=client_ip,
                     person=reference, **report.__dict__)  # fmt: skip
        faces = plan.references + plan.matched
        candidates = list(Face.objects.filter(candidate=person).exclude(pk__in=[f.pk for f in faces]))
        found_in = {f.image_id for f in plan.references + plan.matched + candidates}
        seen_in = found_in - {i.pk for i in plan.photos | plan.sole_subject}  # the images that stay
        delete_files_after_commit(names=thumbnails.cached_names(face_ids=[f.pk for f in faces + candidates]))
        # Explicitly: the foreign key only nulls the person, which would leave their embeddings behind.
        Face.objects.filter(pk__in=[f.pk for f in faces]).delete()
        Face.objects.filter(pk__in=[f.pk for f in candidates]).update(
            candidate=None, similarity=None, review_state=Face.Review.NONE, embedding=None
        )
        for image in plan.photos | plan.sole_subject:
            _delete_image_row(image)
        exports_delete_files(person.exports.all())  # the zips made of them: their rows go with the person
        verification_ids = _redact_verifications(person, reference)
        _redact_admin_log(person, reference)
        collections_changed(references=plan.references)
        person.delete()
        person_erased.send(
            sender=Person, reference=reference, image_ids=sorted(seen_in), verification_ids=verification_ids
        )
    engine_forget(references=plan.references, people_gone=True)
    return report


def _redact_verifications(person: Person, reference: str) -> list[uuid.UUID]:
    """Checks of the person's badge keep their outcome; the badge becomes the pseudonym, here and in their
    audit rows (the one change the application makes to audit rows, so that they stop naming the person)."""
    checks = Verification.objects.filter(person=person)
    if person.external_id:
        checks = Verification.objects.filter(Q(person=person) | Q(external_id=person.external_id))
    ids = list(checks.values_list("pk", flat=True))
    Verification.objects.filter(pk__in=ids).update(external_id=reference, person=None)
    for event in AuditEvent.objects.filter(action=AuditEvent.Action.PERSON_VERIFY, object_id__in=[str(i) for i in ids]):
        AuditEvent.objects.filter(pk=event.pk).update(details={**event.details, "external_id": reference})
    return ids


def _redact_admin_log(person: Person, reference: str) -> None:
    """Django's admin log names what was changed (``Name (badge)``); it keeps only the pseudonym."""
    LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Person), object_id=str(person.pk)).update(
        object_repr=reference, change_message=""
    )


@dataclass(frozen=True)
class CollectionDeletionPlan:
    """What deleting a collection removes, or what keeps it; the admin's confirmation page shows the same."""

    reference_faces: int
    photos: int  # kept only for those faces
    in_use: list[str]  # what uses it and must not lose it, e.g. "3 analysed images"; empty: deletable


def collection_deletion_plan(*, collection: Collection) -> CollectionDeletionPlan:
    analysed = collection.images.exclude(source__in=KEPT_FOR_FACES).count()
    in_use = [f"{analysed} analysed image{'s' if analysed != 1 else ''}"] if analysed else []
    # Other apps' rows that keep their collection (videos, cameras, endpoints scoped to it), found as Django's
    # deletion finds them.
    for relation in Collection._meta.get_fields(include_hidden=True):  # hidden: related_name="+" too
        if not isinstance(relation, ForeignObjectRel) or relation.on_delete is not PROTECT:
            continue
        model = relation.related_model
        users = 0 if model is Image else model._default_manager.filter(**{relation.field.name: collection}).count()
        if users:
            in_use.append(f"{users} {model._meta.verbose_name if users == 1 else model._meta.verbose_name_plural}")
    return CollectionDeletionPlan(
        reference_faces=collection.reference_faces.count(),
        photos=collection.images.filter(source__in=KEPT_FOR_FACES).count(),
        in_use=in_use,
    )


def collection_delete(*, collection: Collection, actor: Actor = None, client_ip: str | None = None) -> int:
    """Delete a collection with its reference faces and the photos kept for them; the number of faces.

    Refused (``Conflict``) while anything uses it: analysed images and videos would lose the collection
    they were identified against, cameras the one they identify against, and endpoints scoped to it would
    be told of every collection."""
    in_use = collection_deletion_plan(collection=collection).in_use
    if in_use:
        raise Conflict(
            f"The collection {collection.name!r} is still used by {', '.join(in_use)}. Delete those or point "
            "them elsewhere, or keep the collection.",
            code="collection_in_use",
        )
    references = list(collection.reference_faces.all())
    with transaction.atomic():
        audit_record(actor=actor, action=AuditEvent.Action.COLLECTION_DELETE, target=collection, client_ip=client_ip,
                     name=collection.name, faces=len(references))  # fmt: skip
        for image in collection.images.all():
            _delete_image_row(image)
        collection.delete()
    get_engine().delete_collection(collection.name)
    return len(references)


def _delete_image_row(image: Image) -> None:
    names = thumbnails.cached_names(image_ids=[image.pk], face_ids=list(image.faces.values_list("pk", flat=True)))
    if image.file.name:
        names.append(image.file.name)
    image.delete()
    delete_files_after_commit(names=names)
