"""``manage.py reindex``: index every reference face into the current (or another) engine again."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recognition.engine_handler import engine_named, get_engine
from recognition.engines.base import EngineError
from recognition.management.progress import ProgressBar
from recognition.models import Collection, Face
from recognition.services.reindex import references_reindex, references_to_reindex


class Command(BaseCommand):
    help = (
        "Index the reference faces of a collection (or of all) into an engine again, from their stored "
        "enrolment photos: after switching engines or to a new model version, no one is re-enrolled. "
        "Faces the engine already holds are skipped, so an interrupted run is simply started again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--collection", help="Only this collection (default: every collection).")
        parser.add_argument(
            "--engine", help="Index into this engine (local, rekognition...); default: the configured one."
        )
        parser.add_argument(
            "--force", action="store_true", help="Index every face again, even those the engine already holds."
        )

    def handle(self, *args: Any, collection: str | None, engine: str | None, force: bool, **options: Any) -> None:
        try:
            target = engine_named(engine) if engine else get_engine()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        collections = Collection.objects.all()
        if collection:
            collections = collections.filter(name=collection)
            if not collections.exists():
                raise CommandError(f"No collection is named {collection!r}.")
        total_failed = 0
        for each in collections:
            total_failed += self._reindex(each, target, force=force)
        if total_failed:
            raise CommandError(f"{total_failed} faces could not be indexed; see above. Nothing else is left to do.")

    def _reindex(self, collection: Collection, engine: Any, *, force: bool) -> int:
        todo = len(references_to_reindex(collection=collection, engine=engine, force=force))
        self.stdout.write(
            f"Collection {collection.name}: {todo} reference faces to index into {engine.name} "
            f"({engine.model_version})."
        )
        bar = ProgressBar(self.stdout, total=todo)

        def progress(face: Face, error: str | None) -> None:
            if error:
                bar.note(self.style.WARNING(f"  face {face.pk} of {face.person}: {error}"))
            bar.advance()

        try:
            report = references_reindex(
                collection=collection, engine=engine, force=force, progress=progress if todo else None
            )
        except EngineError as exc:
            bar.finish()
            raise CommandError(
                f"The engine failed ({exc.message}). Run the command again to carry on where it stopped."
            ) from exc
        bar.finish()
        self.stdout.write(
            self.style.SUCCESS(
                f"Collection {collection.name}: {report.indexed} indexed, {report.skipped} already there, "
                f"{len(report.failed)} failed."
            )
        )
        return len(report.failed)
