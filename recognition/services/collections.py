"""Face collections as the other services see them: looked up by name, told when their faces change."""

from __future__ import annotations

from collections.abc import Iterable

from recognition.engine_handler import get_engine
from recognition.exceptions import InvalidInput
from recognition.models import Collection, Face


def collection_named(*, name: str | None) -> Collection:
    """The collection called ``name``, or the default collection when no name is given."""
    if not name:
        return Collection.get_default()
    collection = Collection.objects.filter(name=name).first()
    if collection is None:
        raise InvalidInput(f"No collection is named {name!r}.", code="unknown_collection", field="collection")
    return collection


def collections_changed(*, references: Iterable[Face]) -> None:
    """Tell the collections of these reference faces that they changed, so search indexes refresh."""
    for collection in {face.collection for face in references if face.collection}:
        collection.bump_version()


def engine_forget(*, references: Iterable[Face]) -> None:
    """Remove deleted reference faces from their engine collections (after their rows are gone)."""
    engine = get_engine()
    for face in references:
        if face.collection and face.engine_face_id:
            engine.delete_faces(face.collection.name, [face.engine_face_id])
