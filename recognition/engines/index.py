"""Exact cosine search over a collection's face embeddings.

``FaceIndex`` is the interface; ``ExactFaceIndex`` holds the whole collection as
one matrix and compares the query with every row, which is exact and, for the
tens of thousands of enrolled faces a site has, fast. An approximate index
(HNSW) can implement the same interface later.

``CollectionIndexes`` keeps one index per collection per process and rebuilds it
when the face store says the collection changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from recognition.engines.base import FaceMatch, FaceStore, UserMatch

USER_FACES_HEADROOM = 4


class FaceIndex:
    owners: dict[str, str]  # face id -> user id

    def search(self, query: np.ndarray, *, k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest faces as (face id, cosine similarity -1..1), nearest first."""
        raise NotImplementedError

    def similarities(self, query: np.ndarray, ids: list[str]) -> dict[str, float]:
        """Cosine similarity of the query to each of the given faces."""
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class ExactFaceIndex(FaceIndex):
    def __init__(self, ids: list[str], matrix: np.ndarray, owners: dict[str, str] | None = None):
        if len(ids) != len(matrix):
            raise ValueError("ids and matrix rows differ in number")
        self.owners = owners or {}
        self._ids = list(ids)
        self._rows = {face_id: i for i, face_id in enumerate(self._ids)}
        self._matrix = normalise_rows(np.asarray(matrix, dtype=np.float32)) if len(ids) else matrix

    def similarities(self, query: np.ndarray, ids: list[str]) -> dict[str, float]:
        """Cosine similarity of the query to each of these faces (those in the index)."""
        rows = [(face_id, self._rows[face_id]) for face_id in ids if face_id in self._rows]
        if not rows:
            return {}
        q = normalise_rows(np.asarray(query, dtype=np.float32)[None, :])[0]
        scores = self._matrix[[r for _, r in rows]] @ q
        return {face_id: float(score) for (face_id, _), score in zip(rows, scores, strict=True)}

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: np.ndarray, *, k: int) -> list[tuple[str, float]]:
        if not self._ids or k <= 0:
            return []
        scores = self._matrix @ normalise_rows(np.asarray(query, dtype=np.float32)[None, :])[0]
        k = min(k, len(self._ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self._ids[i], float(scores[i])) for i in top]


class CollectionIndexes:
    """Per-process indexes of a face store's collections, refreshed on change."""

    def __init__(self, *, engine: str, model_version: str, factory: Callable[..., FaceIndex] = ExactFaceIndex):
        self._engine = engine
        self._model_version = model_version
        self._factory = factory
        self._lock = threading.Lock()
        self._indexes: dict[str, tuple[str, FaceIndex]] = {}

    def get(self, store: FaceStore, collection_id: str) -> FaceIndex:
        version = store.collection_version(collection_id)
        cached = self._indexes.get(collection_id)
        if cached and cached[0] == version:
            return cached[1]
        with self._lock:
            cached = self._indexes.get(collection_id)
            if cached and cached[0] == version:
                return cached[1]
            ids, users, matrix = store.collection_embeddings(
                collection_id, engine=self._engine, model_version=self._model_version
            )
            index = self._factory(ids, matrix, dict(zip(ids, users, strict=True)))
            self._indexes[collection_id] = (version, index)
            return index

    def search(
        self,
        store: FaceStore,
        collection_id: str,
        query: np.ndarray,
        *,
        to_similarity: Callable[[float], float],
        threshold: float,
        max_matches: int,
    ) -> list[FaceMatch]:
        hits = self.get(store, collection_id).search(query, k=max_matches)
        matches = [FaceMatch(face_id=face_id, similarity=to_similarity(cos)) for face_id, cos in hits]
        return [m for m in matches if m.similarity >= threshold]

    def search_users(
        self,
        store: FaceStore,
        collection_id: str,
        query: np.ndarray,
        *,
        to_similarity: Callable[[float], float],
        threshold: float,
        max_users: int,
    ) -> list[UserMatch]:
        """Each user's best face among the nearest, best first (a user may own several faces)."""
        index = self.get(store, collection_id)
        best: dict[str, float] = {}
        # Several faces per person: look further than max_users faces so max_users people come back.
        for face_id, cos in index.search(query, k=max_users * USER_FACES_HEADROOM):
            user = index.owners.get(face_id)
            if user and cos > best.get(user, -2.0):
                best[user] = cos
        ranked = sorted(best.items(), key=lambda item: -item[1])[:max_users]
        matches = [UserMatch(user_id=user, similarity=to_similarity(cos)) for user, cos in ranked]
        return [m for m in matches if m.similarity >= threshold]

    def user_similarity(self, store: FaceStore, collection_id: str, query: np.ndarray, user_id: str) -> float | None:
        """The cosine similarity of the query to the user's closest face; None if the user has none here."""
        index = self.get(store, collection_id)
        scores = index.similarities(query, [f for f, user in index.owners.items() if user == user_id])
        return max(scores.values()) if scores else None


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalised: np.ndarray = matrix / np.maximum(norms, 1e-12)
    return normalised
