"""Indexing reference faces into an engine again, from their stored enrolment photos.

Used after switching engines or to a new model version (AWS ties a collection to one face model and
offers no upgrade, so this is how sites move without re-enrolling anyone), and to rebuild a collection
the engine has lost. Idempotent and resumable: a face already indexed by the target engine and model is
left alone unless ``force`` says the engine's copy is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from django.db import transaction

from recognition.audit import Actor, audit_record
from recognition.engines.base import BaseEngine, CollectionMissingError, EngineError
from recognition.exceptions import FileMissing
from recognition.models import AuditEvent, Collection, Face
from recognition.services.collections import collections_changed
from recognition.services.files import s3_location

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class ReindexReport:
    indexed: int = 0
    skipped: int = 0
    failed: list[tuple[Face, str]] = field(default_factory=list)


def references_to_reindex(*, collection: Collection, engine: BaseEngine, force: bool = False) -> list[Face]:
    """The collection's reference faces the engine does not hold yet (all of them with ``force``)."""
    references = Face.objects.references().filter(collection=collection, person__isnull=False)
    if not force:
        references = references.exclude(engine=engine.name, model_version=engine.model_version)
    return list(references.select_related("image", "person").order_by("created_at", "pk"))


def references_reindex(
    *,
    collection: Collection,
    engine: BaseEngine,
    force: bool = False,
    actor: Actor = None,
    progress: Callable[[Face, str | None], None] | None = None,
) -> ReindexReport:
    """Index each reference face of the collection into ``engine`` and record its new id on the row.

    A photo the engine refuses, or one missing from storage, is reported and skipped; a passing failure
    (throttling, a network error) stops the run, which can simply be started again. ``progress`` hears of
    every face, with the error when it failed."""
    todo = references_to_reindex(collection=collection, engine=engine, force=force)
    report = ReindexReport(skipped=Face.objects.references().filter(collection=collection).count() - len(todo))
    if todo:
        engine.create_collection(collection.name)
    for face in todo:
        error = None
        try:
            _reindex_one(face, collection=collection, engine=engine)
            report.indexed += 1
        except (EngineError, FileMissing) as exc:  # a photo the engine refuses, or one missing from storage
            if exc.retryable:
                raise
            error = exc.message
            report.failed.append((face, exc.message))
        if progress is not None:
            progress(face, error)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.COLLECTION_REINDEX,
        collection=collection.name,
        engine=engine.name,
        model_version=engine.model_version,
        indexed=report.indexed,
        failed=len(report.failed),
    )
    return report


def _reindex_one(face: Face, *, collection: Collection, engine: BaseEngine) -> None:
    assert face.person is not None  # references_to_reindex takes only faces of people
    data = face.image.read_bytes()
    indexed = engine.index_faces(
        collection.name, data, external_image_id=str(face.pk), max_faces=1, location=s3_location(image=face.image)
    )
    engine.associate_faces(collection.name, face.person.engine_user_id, [indexed[0].face_id])
    former = face.engine_face_id
    face.engine, face.model_version, face.engine_face_id = engine.name, engine.model_version, indexed[0].face_id
    face.set_embedding(indexed[0].face.embedding)
    face.save(update_fields=["engine", "model_version", "engine_face_id", "embedding"])
    collections_changed(references=[face], former_ids=[(collection, former)] if former else [])


def collection_restore(*, collection: Collection, engine: BaseEngine) -> None:
    """Rebuild a collection the engine has lost, from the database: never leave it silently empty.

    One process rebuilds while others wait on the collection's row; they find it there and go on. A
    rebuild that fails part way is removed again, so the next attempt starts from scratch."""
    with transaction.atomic():
        Collection.objects.select_for_update().filter(pk=collection.pk).first()
        if not engine.create_collection(collection.name):
            return  # someone else has rebuilt it
        logger.warning("The engine lost the collection %s; re-indexing it from the database.", collection.name)
        try:
            report = references_reindex(collection=collection, engine=engine, force=True)
        except BaseException:
            engine.delete_collection(collection.name)
            raise
    logger.warning("Collection %s rebuilt: %d faces re-indexed.", collection.name, report.indexed)


def restoring(*, collection: Collection, engine: BaseEngine, call: Callable[[], T]) -> T:
    """``call()``, and once more after rebuilding the collection if the engine has lost it."""
    try:
        return call()
    except CollectionMissingError:
        collection_restore(collection=collection, engine=engine)
        return call()
