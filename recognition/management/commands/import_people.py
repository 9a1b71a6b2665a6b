"""``manage.py import_people``: enrol people from a folder tree or a CSV file (recognition/services/bulk.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from recognition.management.progress import ProgressBar
from recognition.models import Collection
from recognition.services import bulk


class Command(BaseCommand):
    help = (
        "Enrol people from a folder (one sub-folder per person, named by their external id, holding their "
        "photos) or a CSV file (external_id,name,photo with a path or URL). Each photo is enrolled as through "
        "the API; people are found by external id and photos already enrolled are skipped, so an interrupted "
        "run is simply started again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", type=Path, help="A folder of <external id>/<photos>, or a .csv file.")
        parser.add_argument("--collection", help="Enrol into this collection (default: the default collection).")
        parser.add_argument("--dry-run", action="store_true", help="Read everything and say what would happen.")
        parser.add_argument("--workers", type=int, default=1, help="Photos enrolled at the same time (threads).")

    def handle(
        self, *args: Any, source: Path, collection: str | None, dry_run: bool, workers: int, **options: Any
    ) -> None:
        if workers < 1:
            raise CommandError("--workers must be 1 or more.")
        target = _collection(collection)
        try:
            items = list(
                bulk.photos_in_csv(source) if source.suffix.lower() == ".csv" else bulk.photos_in_folder(source)
            )
        except bulk.ImportSourceError as exc:
            raise CommandError(exc.message) from exc
        people = len({item.external_id for item in items})
        self.stdout.write(
            f"{'Checking' if dry_run else 'Enrolling'} {len(items)} photos of {people} people into {target.name!r}"
            f"{' (dry run: nothing is changed)' if dry_run else ''}."
        )
        progress = ProgressBar(self.stdout, total=len(items))
        outcomes = []
        for outcome in self._run(items, target, dry_run=dry_run, workers=workers):
            outcomes.append(outcome)  # small: no photo is kept
            progress.advance()
        progress.finish()
        self._summarise(outcomes, dry_run=dry_run)

    def _run(
        self, items: list[bulk.PhotoToImport], collection: Collection, *, dry_run: bool, workers: int
    ) -> Iterator[bulk.Outcome]:
        def one(item: bulk.PhotoToImport) -> bulk.Outcome:
            try:
                return bulk.import_photo(item, collection=collection, dry_run=dry_run)
            finally:
                if workers > 1:
                    connection.close()  # each thread's own connection, not left open after its photo

        if workers == 1:
            yield from map(one, items)
            return
        with ThreadPoolExecutor(workers) as pool:
            yield from pool.map(one, items)

    def _summarise(self, outcomes: list[bulk.Outcome], *, dry_run: bool) -> None:
        counts = Counter(o.result for o in outcomes)
        self.stdout.write("")
        for result in (bulk.WOULD_ENROL if dry_run else bulk.ENROLLED, bulk.SKIPPED, bulk.REFUSED):
            self.stdout.write(f"  {result:<12} {counts[result]:>7}")
        refused = [o for o in outcomes if o.result == bulk.REFUSED]
        if refused:
            self.stdout.write("\nRefused:")
            for outcome in refused:
                self.stdout.write(f"  {outcome.item.external_id}: {outcome.item.photo}: {outcome.reason}")


def _collection(name: str | None) -> Collection:
    if not name:
        return Collection.get_default()
    found = Collection.objects.filter(name=name).first()
    if found is None:
        raise CommandError(f"No collection is named {name!r}.")
    return found
