"""The database as the source of truth for enrolled faces, seen through the engines' ``FaceStore``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np
from django.db.models import Max, QuerySet

from recognition.models import Collection, Face, ReferenceChange


class DatabaseFaceStore:
    def collection_version(self, collection_id: str) -> str:
        row = Collection.objects.filter(name=collection_id).values_list("pk", "version").first()
        return "missing" if row is None else f"{row[0]}:{row[1]}"

    def latest_change(self, collection_id: str) -> int:
        latest = ReferenceChange.objects.filter(collection__name=collection_id).aggregate(latest=Max("id"))["latest"]
        return int(latest or 0)

    def changed_since(self, collection_id: str, change: int) -> tuple[int, list[str]] | None:
        pruned = Collection.objects.filter(name=collection_id).values_list("changes_pruned_through", flat=True).first()
        if pruned is not None and change < pruned:
            return None  # the changes since then were pruned: only a reload is complete
        rows = list(
            ReferenceChange.objects.filter(collection__name=collection_id, id__gt=change)
            .order_by("id")
            .values_list("id", "engine_face_id")
        )
        if not rows:
            return change, []
        return rows[-1][0], sorted({face_id for _, face_id in rows})

    def faces(
        self, collection_id: str, face_ids: Sequence[str], *, engine: str, model_version: str
    ) -> tuple[list[str], list[str], np.ndarray]:
        return _rows(self._references(collection_id, engine, model_version).filter(engine_face_id__in=list(face_ids)))

    def user_embeddings(self, collection_id: str, user_id: str, *, engine: str, model_version: str) -> np.ndarray:
        # The person's own rows first (their index), then the rest of the conditions on those few rows.
        blobs = Face.objects.filter(
            person_id=user_id,  # Person.engine_user_id is the person's id
            is_reference=True,
            collection_id__in=Collection.objects.filter(name=collection_id).values("pk"),
            engine=engine,
            model_version=model_version,
            embedding__isnull=False,
        ).values_list("embedding", flat=True)
        vectors = [np.frombuffer(bytes(blob), dtype="<f4") for blob in blobs if blob is not None]
        return np.vstack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)

    def collection_embeddings(
        self, collection_id: str, *, engine: str, model_version: str
    ) -> tuple[list[str], list[str], np.ndarray]:
        return _rows(self._references(collection_id, engine, model_version))

    @staticmethod
    def _references(collection_id: str, engine: str, model_version: str) -> QuerySet[Face]:
        return Face.objects.filter(
            collection__name=collection_id,
            is_reference=True,
            engine=engine,
            model_version=model_version,
            embedding__isnull=False,
        )


def _rows(faces: QuerySet[Face]) -> tuple[list[str], list[str], np.ndarray]:
    ids: list[str] = []
    users: list[str] = []
    vectors: list[np.ndarray] = []
    for face_id, person_id, blob in faces.values_list("engine_face_id", "person_id", "embedding").iterator(
        chunk_size=2000
    ):
        assert blob is not None  # filtered out by the callers
        ids.append(face_id)
        users.append(engine_user_id(person_id))
        vectors.append(np.frombuffer(bytes(blob), dtype="<f4"))
    if not vectors:
        return [], [], np.zeros((0, 0), dtype=np.float32)
    return ids, users, np.vstack(vectors)


def engine_user_id(person_id: uuid.UUID | str | None) -> str:
    """``Person.engine_user_id`` from a face row's person id, without loading the person; "" for no one's."""
    return str(person_id) if person_id else ""
