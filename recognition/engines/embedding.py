"""Collections and comparisons for engines that compute face embeddings themselves.

Such engines keep no server-side collections: the face store (the database)
holds enrolled embeddings, and a ``FaceSearch`` finds the nearest of them: the
one the application hands over (the database's own, pgvector), or else an exact
index in this process that catches up when the collection changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np

from recognition.engines.base import (
    BaseEngine,
    ComparedFace,
    CompareResult,
    EngineError,
    FaceDetail,
    FaceMatch,
    FaceSearch,
    FaceStore,
    IndexedFace,
    Neighbour,
    S3Location,
    UserMatch,
)
from recognition.engines.index import USER_FACES_HEADROOM, CollectionIndexes, best_per_user, normalise_rows


class EmbeddingEngine(BaseEngine):
    """Subclasses implement ``detect_faces`` (with embeddings) and ``similarity_from_cosine``."""

    def __init__(
        self, *, face_store: FaceStore | None = None, face_search: FaceSearch | None = None, **options: Any
    ) -> None:
        if face_search is None and face_store is not None:
            face_search = CollectionIndexes(face_store)
        super().__init__(face_store=face_store, face_search=face_search, **options)

    @staticmethod
    def similarity_from_cosine(cos: float) -> float:
        raise NotImplementedError

    def index_faces(
        self,
        collection_id: str,
        image: bytes,
        *,
        external_image_id: str = "",
        max_faces: int = 1,
        location: S3Location | None = None,
    ) -> list[IndexedFace]:
        # The caller stores each embedding under the id returned here; the index
        # picks it up on the next search, when the collection's version has changed.
        faces = self.detect_faces(image, attributes=False)[:max_faces]
        return [IndexedFace(face_id=str(uuid.uuid4()), face=face) for face in faces]

    def delete_faces(self, collection_id: str, face_ids: Sequence[str]) -> None:
        return None  # the face store is the source of truth

    def search_face(
        self, collection_id: str, image: bytes, face: FaceDetail, *, threshold: float = 80.0, max_matches: int = 10
    ) -> list[FaceMatch]:
        matches = [
            FaceMatch(face_id=n.face_id, similarity=self.similarity_from_cosine(n.cosine))
            for n in self._nearest(collection_id, face, k=max_matches)
        ]
        return [m for m in matches if m.similarity >= threshold]

    def search_users(
        self, collection_id: str, image: bytes, face: FaceDetail, *, threshold: float = 80.0, max_users: int = 10
    ) -> list[UserMatch]:
        # Several faces per person: look further than max_users faces so that max_users people come back.
        nearest = self._nearest(collection_id, face, k=max_users * USER_FACES_HEADROOM)
        matches = [
            UserMatch(user_id=n.user_id, similarity=self.similarity_from_cosine(n.cosine), face_id=n.face_id)
            for n in best_per_user(nearest, max_users=max_users)
        ]
        return [m for m in matches if m.similarity >= threshold]

    def user_similarity(self, collection_id: str, image: bytes, face: FaceDetail, user_id: str) -> float | None:
        # A 1:1 check reads the person's few embeddings, never the collection: constant time at any size.
        vectors = self._store().user_embeddings(
            collection_id, user_id, engine=self.name, model_version=self.model_version
        )
        if not len(vectors):
            return None
        cosines = normalise_rows(vectors) @ normalise_rows(_embedding_of(face)[None, :])[0]
        return self.similarity_from_cosine(float(cosines.max()))

    def _nearest(self, collection_id: str, face: FaceDetail, *, k: int) -> list[Neighbour]:
        if self.face_search is None:
            raise EngineError(f"The {self.name!r} engine needs a face store to search collections.")
        return self.face_search.nearest(
            collection_id, _embedding_of(face), k=k, engine=self.name, model_version=self.model_version
        )

    def _store(self) -> FaceStore:
        if self.face_store is None:
            raise EngineError(f"The {self.name!r} engine needs a face store to search collections.")
        return self.face_store

    def compare_faces(self, source: bytes, target: bytes, *, threshold: float = 80.0) -> CompareResult:
        source_faces = self.detect_faces(source, attributes=False)
        if not source_faces:
            raise EngineError("No face was found in the source image.", code="no_face")
        reference = _embedding_of(source_faces[0])
        compared = sorted(
            (
                ComparedFace(face=face, similarity=self.similarity_from_cosine(float(reference @ _embedding_of(face))))
                for face in self.detect_faces(target, attributes=False)
            ),
            key=lambda c: -c.similarity,
        )
        return CompareResult(
            source_face=source_faces[0],
            matches=tuple(c for c in compared if c.similarity >= threshold),
            unmatched=tuple(c for c in compared if c.similarity < threshold),
        )


def _embedding_of(face: FaceDetail) -> np.ndarray:
    if face.embedding is None:
        raise EngineError("The face has no embedding; detect it with this engine first.")
    return face.embedding
