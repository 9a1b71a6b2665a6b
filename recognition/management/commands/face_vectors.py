"""``manage.py face_vectors``: the pgvector table of enrolled embeddings — its state, or (re)building it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from recognition import face_vectors
from recognition.management.progress import ProgressBar
from recognition.models import Face


class Command(BaseCommand):
    help = (
        "Show how enrolled faces are searched (FACESITE_FACE_SEARCH) and, with --install, add the pgvector "
        "column and its HNSW index and write every enrolled embedding into it: after installing pgvector on "
        "a database migrated without it, or to rebuild the vectors from the faces."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", action="store_true", help="Create (or rebuild) the table and its indexes.")
        parser.add_argument(
            "--build-memory",
            metavar="SIZE",
            help="PostgreSQL maintenance_work_mem while building the HNSW index, e.g. 1GB (faster when the "
            "graph fits: about 1 GB per million faces).",
        )

    def handle(self, *args: Any, install: bool, build_memory: str | None, **options: Any) -> None:
        if install:
            self._install(build_memory)
        self._status()

    def _install(self, build_memory: str | None) -> None:
        if not face_vectors.extension_available():
            raise CommandError(
                f"The database ({connection.vendor}) has no vector extension: pgvector needs PostgreSQL with "
                "pgvector installed (Debian/Ubuntu: postgresql-NN-pgvector; Docker: the pgvector/pgvector image)."
            )
        total = self._references().count()
        self.stdout.write(f"Writing the vectors of {total} enrolled faces, then indexing them.")
        bar = ProgressBar(self.stdout, total=total)

        def progress(copied: int) -> None:
            bar.advance(copied - bar.done)

        try:
            copied = face_vectors.install(build_memory=build_memory, progress=progress)
        except DatabaseError as exc:
            raise CommandError(f"PostgreSQL refused: {str(exc).strip()}") from exc
        bar.finish()
        self.stdout.write(self.style.SUCCESS(f"{copied} vectors written and indexed."))

    def _status(self) -> None:
        configured = settings.FACESITE_FACE_SEARCH["BACKEND"]
        try:
            used = "pgvector" if face_vectors.face_search() is not None else "memory"
        except ImproperlyConfigured as exc:  # what this command is for: say so, then show the state
            used = self.style.ERROR(f"none, the engines will not start: {exc}")
        self.stdout.write(f"Face search: {used} (FACESITE_FACE_SEARCH={configured}).")
        if not face_vectors.installed():
            hint = "" if not face_vectors.extension_available() else " Run with --install to create it."
            self.stdout.write(f"No vector column in {face_vectors.TABLE}.{hint}")
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT c.name, f.engine, f.model_version, count(f.{face_vectors.COLUMN}), count(*) "
                f"FROM {face_vectors.TABLE} f JOIN recognition_collection c ON c.id = f.collection_id "
                f"WHERE {face_vectors.ENROLLED} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
            )
            for name, engine, model, stored, enrolled in cursor.fetchall():
                state = "" if stored == enrolled else self.style.WARNING("  out of step: run --install")
                self.stdout.write(f"  {name} / {engine} {model}: {stored} vectors, {enrolled} faces{state}")

    @staticmethod
    def _references():
        return Face.objects.filter(is_reference=True, collection__isnull=False, embedding__isnull=False)
