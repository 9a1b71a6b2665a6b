"""Emptying the database after a transactional test, in milliseconds on PostgreSQL.

A test marked ``django_db(transaction=True)`` commits for real (live servers, Celery workers and other
threads see its rows), so Django empties every table after it: one ``TRUNCATE`` of its forty tables,
then its ``post_migrate`` handlers write the content types and permissions back. On PostgreSQL the
``TRUNCATE`` makes new files for each table and index: with the writing back, 0.29 s a test on the CI kind
of machine, for some three hundred such tests. ``DELETE`` of the few rows a test leaves takes
milliseconds, and the content types and permissions, which every flush would write back the same, are
left where they are: 0.06 s a test. Foreign keys are checked at the end of the flush's transaction (Django makes them
deferrable), so the tables are emptied in any order. Sequences go on counting, as they did.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.backends.postgresql.operations import DatabaseOperations

#: What ``post_migrate`` writes back after every flush, the same each time: kept instead.
KEPT = frozenset({"django_content_type", "auth_permission"})


def sql_flush(
    self: DatabaseOperations, style: Any, tables: Iterable[str], *, reset_sequences: bool = False,
    allow_cascade: bool = False,
) -> list[str]:  # fmt: skip
    emptied = [table for table in tables if table not in KEPT]
    if not emptied:
        return []
    return ["SET CONSTRAINTS ALL DEFERRED;", *(f"DELETE FROM {self.quote_name(table)};" for table in emptied)]


def install() -> None:
    """Flush PostgreSQL test databases with ``sql_flush``, for this test process."""
    DatabaseOperations.sql_flush = sql_flush  # type: ignore[method-assign]
