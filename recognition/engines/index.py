"""Exact cosine search over a collection's face embeddings, held in the process.

``ExactFaceIndex`` holds a whole collection as one matrix and compares the query
with every row: exact, and fast up to about a million faces (bench/README.md).
``CollectionIndexes`` keeps one index per collection per process and brings it up
to date from the face store's change log when the collection changes; it is the
``memory`` kind of ``FaceSearch``. The database's own search (pgvector) is the
other, in ``recognition.face_vectors``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from recognition.engines.base import FaceStore, Neighbour

USER_FACES_HEADROOM = 4
SPARE_ROWS = 1024


@dataclass(frozen=True)
class _Rows:
    """One consistent view of the index: readers take it once, writers replace it whole."""

    matrix: np.ndarray  # L2-normalised rows; capacity may exceed ``size``
    alive: np.ndarray  # False for removed faces not yet compacted away
    ids: list[str]  # appended to in place: a reader only looks below the size it took
    size: int
    dead: int


class ExactFaceIndex:
    """Every face as a row of one matrix (L2-normalised), compared with the query all at once.

    Changes are absorbed rather than rebuilt: new faces are written into spare capacity (grown by half
    when full, so appending is cheap on average), removed faces are marked dead and dropped once they are
    a quarter of the rows. Each change publishes a new view (``_Rows``) in one assignment, and a search
    works on the view it took, so a search beside a change sees the index as it was or as it is. Changes
    come one at a time (the caller holds a lock)."""

    def __init__(self, ids: list[str], matrix: np.ndarray, owners: dict[str, str] | None = None):
        if len(ids) != len(matrix):
            raise ValueError("ids and matrix rows differ in number")
        self.owners = dict(owners or {})
        self._positions = {face_id: i for i, face_id in enumerate(ids)}  # the writer's, not the readers'
        size = len(ids)
        if size:
            # Room for the next enrolments from the start: the first ones then copy nothing.
            rows = np.zeros((size + max(SPARE_ROWS, size // 8), matrix.shape[1]), dtype=np.float32)
            rows[:size] = normalise_rows(np.asarray(matrix, dtype=np.float32))
        else:
            rows = np.zeros((0, 0), np.float32)
        alive = np.zeros(len(rows), dtype=bool)
        alive[:size] = True
        self._view = _Rows(matrix=rows, alive=alive, ids=list(ids), size=size, dead=0)

    def __len__(self) -> int:
        return self._view.size - self._view.dead

    def apply(self, touched: set[str], ids: list[str], users: list[str], matrix: np.ndarray) -> None:
        """Drop the ``touched`` faces, then add their current rows (those that still exist)."""
        view = self._view
        gone = [self._positions.pop(face_id) for face_id in touched if face_id in self._positions]
        for face_id in touched:
            self.owners.pop(face_id, None)
        if gone:
            alive = view.alive.copy()
            alive[gone] = False
            view = _Rows(view.matrix, alive, view.ids, view.size, view.dead + len(gone))
        if ids:
            view = self._appended(view, ids, users, normalise_rows(np.asarray(matrix, dtype=np.float32)))
        if view.dead and view.dead * 4 > view.size:
            view = self._compacted(view)
        self._view = view

    def _appended(self, view: _Rows, ids: list[str], users: list[str], rows: np.ndarray) -> _Rows:
        needed = view.size + len(ids)
        matrix, alive = view.matrix, view.alive
        if matrix.ndim != 2 or matrix.shape[1] != rows.shape[1] or needed > len(matrix):
            capacity = max(needed, int(len(matrix) * 1.5) + 16)
            grown = np.zeros((capacity, rows.shape[1]), dtype=np.float32)
            grown_alive = np.zeros(capacity, dtype=bool)
            if view.size:
                grown[: view.size] = matrix[: view.size]
                grown_alive[: view.size] = alive[: view.size]
            matrix, alive = grown, grown_alive
        # Rows past the published size are no reader's: writing them in place is safe.
        matrix[view.size : needed] = rows
        alive[view.size : needed] = True
        view.ids[view.size :] = ids  # past what any reader looks at
        for offset, (face_id, user) in enumerate(zip(ids, users, strict=True)):
            self._positions[face_id] = view.size + offset
            self.owners[face_id] = user
        return _Rows(matrix, alive, view.ids, needed, view.dead)

    def _compacted(self, view: _Rows) -> _Rows:
        keep = np.flatnonzero(view.alive[: view.size])
        ids = [view.ids[i] for i in keep]
        self._positions = {face_id: i for i, face_id in enumerate(ids)}
        matrix = np.zeros((len(keep) + max(SPARE_ROWS, len(keep) // 8), view.matrix.shape[1]), dtype=np.float32)
        matrix[: len(keep)] = view.matrix[keep]
        alive = np.zeros(len(matrix), dtype=bool)
        alive[: len(keep)] = True
        return _Rows(matrix=matrix, alive=alive, ids=ids, size=len(keep), dead=0)

    def search(self, query: np.ndarray, *, k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest faces as (face id, cosine similarity -1..1), nearest first."""
        view = self._view
        if view.size == 0 or k <= 0:
            return []
        scores = view.matrix[: view.size] @ normalise_rows(np.asarray(query, dtype=np.float32)[None, :])[0]
        if view.dead:
            scores[~view.alive[: view.size]] = -np.inf
        k = min(k, view.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(view.ids[i], float(scores[i])) for i in top if np.isfinite(scores[i])]


@dataclass(frozen=True)
class _Cached:
    version: str
    change: int  # the face store's latest change this index includes
    index: ExactFaceIndex


class CollectionIndexes:
    """The ``memory`` face search: per-process exact indexes of a face store's collections, kept up to date
    incrementally.

    The first search of a collection loads it whole. After that, a change to the collection (an enrolment,
    a removal) is caught up by replaying the store's change log: only the faces touched are read again,
    so the first search after an enrolment costs a few rows, not the collection. A long backlog (more than
    ``REBUILD_AFTER`` faces) reloads instead. Each engine and model version has its own index, so the
    embeddings of two models never meet."""

    REBUILD_AFTER = 5000

    def __init__(self, store: FaceStore):
        self._store = store
        self._lock = threading.Lock()
        self._indexes: dict[tuple[str, str, str], _Cached] = {}
        self.full_loads = 0  # how many times a collection was read whole (for tests and benchmarks)

    def __len__(self) -> int:
        """How many indexes this process holds."""
        return len(self._indexes)

    def nearest(
        self, collection_id: str, query: np.ndarray, *, k: int, engine: str, model_version: str
    ) -> list[Neighbour]:
        index = self.get(collection_id, engine=engine, model_version=model_version)
        return [Neighbour(face_id, index.owners.get(face_id, ""), cos) for face_id, cos in index.search(query, k=k)]

    def get(self, collection_id: str, *, engine: str, model_version: str) -> ExactFaceIndex:
        key = (collection_id, engine, model_version)
        version = self._store.collection_version(collection_id)
        cached = self._indexes.get(key)
        if cached and cached.version == version:
            return cached.index
        with self._lock:
            cached = self._indexes.get(key)
            if cached and cached.version == version:
                return cached.index
            fresh = self._caught_up(key, version, cached) if cached else None
            fresh = fresh or self._loaded(key, version)
            self._indexes[key] = fresh
            return fresh.index

    def _caught_up(self, key: tuple[str, str, str], version: str, cached: _Cached) -> _Cached | None:
        collection_id, engine, model_version = key
        since = self._store.changed_since(collection_id, cached.change)
        if since is None or len(since[1]) > self.REBUILD_AFTER:
            return None
        latest, touched = since
        if not touched:
            return _Cached(version=version, change=latest, index=cached.index)
        ids, users, matrix = self._store.faces(collection_id, touched, engine=engine, model_version=model_version)
        cached.index.apply(set(touched), ids, users, matrix)
        return _Cached(version=version, change=latest, index=cached.index)

    def _loaded(self, key: tuple[str, str, str], version: str) -> _Cached:
        collection_id, engine, model_version = key
        change = self._store.latest_change(collection_id)  # before reading: later changes are replayed, not lost
        ids, users, matrix = self._store.collection_embeddings(
            collection_id, engine=engine, model_version=model_version
        )
        self.full_loads += 1
        return _Cached(
            version=version, change=change, index=ExactFaceIndex(ids, matrix, dict(zip(ids, users, strict=True)))
        )


def best_per_user(neighbours: list[Neighbour], *, max_users: int) -> list[Neighbour]:
    """Each user's nearest face among ``neighbours``, nearest first: a person is as close as their closest
    reference photo, so enrolling more photos of someone can only bring them closer. Faces of no one are
    left out."""
    best: dict[str, Neighbour] = {}
    for neighbour in neighbours:
        user = neighbour.user_id
        if user and (user not in best or neighbour.cosine > best[user].cosine):
            best[user] = neighbour
    return sorted(best.values(), key=lambda n: -n.cosine)[:max_users]


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalised: np.ndarray = matrix / np.maximum(norms, 1e-12)
    return normalised
