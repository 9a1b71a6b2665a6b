"""Enrolled embeddings searched by PostgreSQL itself (pgvector), the ``pgvector`` kind of ``FaceSearch``.

Reference faces carry their embedding a second time, as a ``vector`` in a column of ``recognition_face``
that the migration adds where PostgreSQL has the extension (it is not in the model: SQLite and plain
PostgreSQL never see it). ``collections_changed`` writes it for the faces it is told about, in the same
transaction, and a deleted face takes its vector with it, so the next query in any process sees an
enrolment or an erasure at once, and no process holds a copy.

The column is a ``vector`` of any size (models differ). An HNSW index (cosine) covers each size listed in
``HNSW_DIMENSIONS`` through a partial expression index, as pgvector recommends for mixed sizes; vectors of
another size are still found, by an exact scan. Where PostgreSQL has no vector extension (or the database
is SQLite) nothing here is installed and the ``memory`` search is used.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from recognition.engines.base import FaceSearch, Neighbour
from recognition.face_store import engine_user_id

TABLE = "recognition_face"
COLUMN = "embedding_vector"
HNSW_DIMENSIONS = (128,)  # SFace, the local engine's model
HNSW_M = 16  # pgvector's defaults for the graph (links per node, candidates while building)
HNSW_EF_CONSTRUCTION = 64
BATCH = 2000
# Which faces have a vector: the partial indexes and every query say the same, so the planner can match them.
ENROLLED = "is_reference AND collection_id IS NOT NULL AND embedding IS NOT NULL"


def extension_available() -> bool:
    """PostgreSQL, with the vector extension installed or installable."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        return cursor.fetchone() is not None


def installed() -> bool:
    """The vector column exists (the migration, or ``manage.py face_vectors --install``, made it)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = %s AND column_name = %s",
            [TABLE, COLUMN],
        )
        return cursor.fetchone() is not None


def install(
    *,
    build_memory: str | None = None,
    ef_construction: int = HNSW_EF_CONSTRUCTION,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Create the extension, the column and its indexes, and write the enrolled embeddings there are into
    it; the number written. Idempotent. ``build_memory`` (e.g. "1GB") is PostgreSQL's maintenance_work_mem
    while building the HNSW index, which is much faster when the graph fits in it; ``ef_construction``
    trades build time for a graph that finds more of the true neighbours at the same ``ef_search``."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # rows checked now: ALTER TABLE refuses pending checks
        cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
        cursor.execute(f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS {COLUMN} vector NULL")
        for dimensions in HNSW_DIMENSIONS:
            cursor.execute(f"DROP INDEX IF EXISTS {TABLE}_{COLUMN}_hnsw_{dimensions}")  # built after the copy
        cursor.execute(f"UPDATE {TABLE} SET {COLUMN} = NULL WHERE {COLUMN} IS NOT NULL")
        written = _write_vectors(progress=progress)
        if build_memory:
            cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [build_memory])
        for dimensions in HNSW_DIMENSIONS:
            cursor.execute(
                f"CREATE INDEX {TABLE}_{COLUMN}_hnsw_{dimensions} ON {TABLE} "
                f"USING hnsw (({COLUMN}::vector({dimensions})) vector_cosine_ops) "
                f"WITH (m = {HNSW_M}, ef_construction = {int(ef_construction)}) "
                f"WHERE {ENROLLED} AND vector_dims({COLUMN}) = {dimensions}"
            )
    return written


def uninstall() -> None:
    """Drop the column and its indexes (the extension stays: other objects may use it)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS {COLUMN}")


def sync(touched: Iterable[tuple[int, str]]) -> None:
    """Bring the vectors of these (collection id, engine face id) in step with their faces' embeddings.
    Call it in the transaction that changed the faces."""
    pairs = sorted(set(touched))
    if not pairs or not installed():
        return
    these = "AND (collection_id, engine_face_id) IN (SELECT * FROM unnest(%s::bigint[], %s::text[]))"
    params: list[Any] = [[collection for collection, _ in pairs], [face for _, face in pairs]]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET {COLUMN} = NULL WHERE {COLUMN} IS NOT NULL AND NOT ({ENROLLED}) {these}", params
        )
    _write_vectors(these, params)


def _write_vectors(where: str = "", params: Sequence = (), *, progress: Callable[[int], None] | None = None) -> int:
    """Write the vector of every enrolled face matching ``where`` from its embedding, a batch at a time
    (copied into a scratch table, then joined): read with SQL rather than the model, so the migration
    works whatever the model later becomes."""
    written, after = 0, uuid.UUID(int=0)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS face_vector_batch (id uuid, {COLUMN} vector)")
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, embedding FROM {TABLE} WHERE {ENROLLED} AND id > %s {where} ORDER BY id LIMIT {BATCH}",
                [after, *params],
            )
            rows = cursor.fetchall()
            if not rows:
                cursor.execute("DROP TABLE face_vector_batch")
                return written
            with cursor.cursor.copy(f"COPY face_vector_batch (id, {COLUMN}) FROM STDIN") as copy:
                for face_id, blob in rows:
                    copy.write_row((face_id, vector_literal(np.frombuffer(bytes(blob), dtype="<f4"))))
            cursor.execute(f"UPDATE {TABLE} f SET {COLUMN} = b.{COLUMN} FROM face_vector_batch b WHERE f.id = b.id")
            cursor.execute("TRUNCATE face_vector_batch")
        written += len(rows)
        after = rows[-1][0]
        if progress:
            progress(written)


def vector_literal(vector: np.ndarray) -> str:
    """pgvector's text form, ``[x,y,...]``, with float32's full precision."""
    return "[" + ",".join(f"{x:.9g}" for x in np.asarray(vector, dtype=np.float32).tolist()) + "]"


class PgvectorFaceSearch(FaceSearch):
    """Nearest faces by cosine distance, answered by PostgreSQL over the vector column: HNSW for the sizes
    that have an index (``ef_search`` candidates), an exact scan for the others or when ``exact``."""

    full_loads = 0  # nothing is ever loaded into the process

    def __init__(self, *, ef_search: int = 200, exact: bool = False):
        self.ef_search = ef_search
        self.exact = exact

    def nearest(
        self, collection_id: str, query: np.ndarray, *, k: int, engine: str, model_version: str
    ) -> list[Neighbour]:
        if k <= 0:
            return []
        dimensions = len(query)  # written into the SQL (an int), so that the partial index's predicate matches
        cast = f"vector({dimensions})"
        distance = f"{COLUMN}::{cast} <=> %s::{cast}"
        # "+ 0" hides the distance from the HNSW index, so the planner compares every candidate row.
        order = f"({distance}) + 0" if self.exact else distance
        literal = vector_literal(query)
        with transaction.atomic(), connection.cursor() as cursor:
            # Iterative scans keep walking the graph until k rows pass the filters (pgvector 0.8), in
            # roughly nearest-first order; the rows are sorted again below.
            cursor.execute(
                "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', %s, true)",
                [str(max(self.ef_search, k)), "relaxed_order"],
            )
            cursor.execute(
                f"""SELECT engine_face_id, person_id, 1 - ({distance}) FROM {TABLE}
                WHERE collection_id = (SELECT id FROM recognition_collection WHERE name = %s)
                  AND engine = %s AND model_version = %s AND {ENROLLED} AND vector_dims({COLUMN}) = {dimensions}
                ORDER BY {order} LIMIT %s""",
                [literal, collection_id, engine, model_version, literal, k],
            )
            rows = cursor.fetchall()
        neighbours = [Neighbour(face_id, engine_user_id(person), float(cos)) for face_id, person, cos in rows]
        return sorted(neighbours, key=lambda n: -n.cosine)


def face_search() -> FaceSearch | None:
    """The search ``settings.FACESITE_FACE_SEARCH`` asks for: a ``PgvectorFaceSearch``, or None for the
    engines' own in-process index."""
    config: dict[str, Any] = settings.FACESITE_FACE_SEARCH
    backend = config["BACKEND"]
    if backend == "memory":
        return None
    if not installed():
        if backend == "auto":
            return None
        raise ImproperlyConfigured(
            "FACESITE_FACE_SEARCH is 'pgvector', but the database has no face vector column: it needs "
            "PostgreSQL with the vector extension (pgvector), then `manage.py face_vectors --install`."
        )
    return PgvectorFaceSearch(ef_search=int(config["EF_SEARCH"]), exact=bool(config["EXACT"]))
