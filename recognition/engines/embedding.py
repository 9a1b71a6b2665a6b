"""Collections and comparisons for engines that compute face embeddings themselves.

Such engines keep no server-side collections: the face store (the database)
holds enrolled embeddings, and each process searches them through an exact
in-memory index that refreshes when the collection changes.
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
    FaceStore,
    IndexedFace,
    S3Location,
    UserMatch,
)
from recognition.engines.index import CollectionIndexes, normalise_rows


class EmbeddingEngine(BaseEngine):
    """Subclasses implement ``detect_faces`` (with embeddings) and ``similarity_from_cosine``."""

    def __init__(self, *, face_store: FaceStore | None = None, **options: Any) -> None:
        super().__init__(face_store=face_store, **options)
        self._indexes = CollectionIndexes(engine=self.name, model_version=self.model_version)

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
        return self._indexes.search(
            self._store(),
            collection_id,
            _embedding_of(face),
            to_similarity=self.similarity_from_cosine,
            threshold=threshold,
            max_matches=max_matches,
        )

    def search_users(
        self, collection_id: str, image: bytes, face: FaceDetail, *, threshold: float = 80.0, max_users: int = 10
    ) -> list[UserMatch]:
        return self._indexes.search_users(
            self._store(),
            collection_id,
            _embedding_of(face),
            to_similarity=self.similarity_from_cosine,
            threshold=threshold,
            max_users=max_users,
        )

    def user_similarity(self, collection_id: str, image: bytes, face: FaceDetail, user_id: str) -> float | None:
        # A 1:1 check reads the person's few embeddings, never the collection: constant time at any size.
        vectors = self._store().user_embeddings(
            collection_id, user_id, engine=self.name, model_version=self.model_version
        )
        if not len(vectors):
            return None
        cosines = normalise_rows(vectors) @ normalise_rows(_embedding_of(face)[None, :])[0]
        return self.similarity_from_cosine(float(cosines.max()))

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
