"""Face collections as the other services see them: looked up by name, told when their faces change."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from recognition import face_vectors
from recognition.audit import Actor, audit_record
from recognition.engine_handler import get_engine
from recognition.engines.base import UserMatch
from recognition.exceptions import Conflict, InvalidInput
from recognition.models import AuditEvent, Collection, Face, Person, ReferenceChange


def collection_named(*, name: str | None) -> Collection:
    """The collection called ``name``, or the default collection when no name is given."""
    if not name:
        return Collection.get_default()
    collection = Collection.objects.filter(name=name).first()
    if collection is None:
        raise InvalidInput(f"No collection is named {name!r}.", code="unknown_collection", field="collection")
    return collection


def collection_create(
    *, name: str, description: str = "", watched: bool = False, actor: Actor = None, client_ip: str | None = None
) -> Collection:
    """A new, empty collection; ``Conflict`` if the name is taken."""
    with transaction.atomic():
        collection, created = Collection.objects.get_or_create(
            name=name, defaults={"description": description, "watched": watched}
        )
        if not created:
            raise Conflict(f"A collection is already named {name!r}.", code="collection_exists")
        audit_record(actor=actor, action=AuditEvent.Action.COLLECTION_CREATE, target=collection, client_ip=client_ip,
                     name=name)  # fmt: skip
    get_engine().create_collection(name)
    return collection


def collections_changed(*, references: Iterable[Face], former_ids: Iterable[tuple[Collection, str]] = ()) -> None:
    """Tell the collections of these reference faces that they changed (added, removed, re-indexed or given
    to someone else), so every process's search index catches up with exactly these faces, and the
    database's own (pgvector) is rewritten for them. ``former_ids`` names engine ids a face no longer has
    (after re-indexing). Call it in the transaction that changed the faces."""
    touched = {(face.collection, face.engine_face_id) for face in references if face.collection and face.engine_face_id}
    touched |= set(former_ids)
    ReferenceChange.objects.bulk_create(
        ReferenceChange(collection=collection, engine_face_id=face_id) for collection, face_id in touched
    )
    face_vectors.sync((collection.pk, face_id) for collection, face_id in touched)
    for collection in {collection for collection, _ in touched}:
        collection.bump_version()


def reference_changes_prune(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Forget change-log rows older than any index still catching up needs; an index that has fallen
    further behind than what is kept reloads (``changes_pruned_through``). The number of rows removed."""
    cutoff = timezone.now() - older_than
    removed = 0
    for collection in Collection.objects.all():
        old = ReferenceChange.objects.filter(collection=collection, created_at__lt=cutoff)
        through = old.aggregate(last=Max("id"))["last"]
        if through is None:
            continue
        with transaction.atomic():
            # The watermark first: an index reading between the two steps reloads rather than misses rows.
            Collection.objects.filter(pk=collection.pk, changes_pruned_through__lt=through).update(
                changes_pruned_through=through
            )
            removed += ReferenceChange.objects.filter(collection=collection, id__lte=through).delete()[0]
    return removed


def people_of(matches: Sequence[UserMatch | None]) -> dict[str, Person]:
    """The people behind matched engine users (``Person.engine_user_id``), for those who still exist: one query."""
    ids: dict[str, uuid.UUID] = {}
    for match in matches:
        if match is None:
            continue
        try:
            ids[match.user_id] = uuid.UUID(match.user_id)
        except ValueError:
            continue  # a user Facesite did not create
    people = Person.objects.in_bulk(set(ids.values()))
    return {user: people[pk] for user, pk in ids.items() if pk in people}


def engine_forget(*, references: Iterable[Face], people_gone: bool = False) -> None:
    """Remove deleted reference faces from the engine's collections (after their rows are gone).

    Each face is first taken from its person's user, or, when the people themselves are gone (erasure),
    their users are deleted. Faces another engine made are not this engine's to remove."""
    engine = get_engine()
    by_owner: dict[tuple[str, str], list[str]] = defaultdict(list)
    for face in references:
        if face.collection and face.engine_face_id and face.engine == engine.name:
            by_owner[(face.collection.name, str(face.person_id or ""))].append(face.engine_face_id)
    for (collection, user_id), unordered in by_owner.items():
        face_ids = sorted(unordered)
        if user_id and people_gone:
            engine.delete_user(collection, user_id)
        elif user_id:
            engine.disassociate_faces(collection, user_id, face_ids)
        engine.delete_faces(collection, face_ids)
