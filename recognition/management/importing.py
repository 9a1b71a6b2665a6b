"""What the bulk import commands share: items done one by one or by threads, progress, a summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from recognition.exceptions import InvalidInput
from recognition.management.progress import ProgressBar
from recognition.models import Collection
from recognition.s3_objects import is_s3
from recognition.services import bulk
from recognition.services.bulk import DEFAULT_ENCODING, REFUSED, SKIPPED, Outcome
from recognition.services.collections import collection_named


class ImportCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--collection", help="Into this collection (default: the default collection).")
        parser.add_argument("--dry-run", action="store_true", help="Read everything and say what would happen.")
        parser.add_argument("--workers", type=int, default=1, help="Items done at the same time (threads).")
        parser.add_argument(
            "--encoding", default=DEFAULT_ENCODING,
            help="The list file's text encoding (default UTF-8; cp1252 for Excel's plain CSV on Windows).",
        )  # fmt: skip

    def collection(self, name: str | None) -> Collection:
        try:
            return collection_named(name=name)
        except InvalidInput as exc:
            raise CommandError(exc.message) from exc

    def listing(self, source: str) -> bulk.Listing | None:
        """The files of the folder tree or S3 prefix ``source``, listed once for the whole import (None for a
        list file), saying first that an S3 prefix is being listed (a thousand objects a request: a large one
        takes a while)."""
        if is_s3(source):
            self.stdout.write(f"Listing {source} …")
        with _stop_if_unreadable():
            return bulk.listed(source)

    def items_in(self, read: Callable[[], Iterable[Any]]) -> list[Any]:
        """What ``read`` finds in the source."""
        with _stop_if_unreadable():
            return list(read())

    def import_all(
        self, items: Sequence[Any], one: Callable[[Any], Outcome], *, workers: int, results: Sequence[str],
        left_out: Sequence[tuple[str, str]] = (),
    ) -> None:  # fmt: skip
        """Do ``one`` for each item, showing progress; then count each of ``results`` (the skipped with why),
        and list the refusals and the files ``left_out`` of the source, with why."""
        if workers < 1:
            raise CommandError("--workers must be 1 or more.")
        progress = ProgressBar(self.stdout, total=len(items))
        outcomes = []
        for outcome in _each(items, one, workers=workers):
            outcomes.append(outcome)  # small: no photo is kept
            progress.advance()
        progress.finish()
        counts = Counter(o.result for o in outcomes)
        skipped = Counter(o.reason for o in outcomes if o.result == SKIPPED)
        self.stdout.write("")
        for result in results:
            why = f"  ({', '.join(f'{reason} {n}' for reason, n in skipped.items())})" if result == SKIPPED else ""
            self.stdout.write(f"  {result:<12} {counts[result]:>7}{why if counts[result] else ''}")
        if left_out:
            self.stdout.write(f"  {'left out':<12} {len(left_out):>7}  (not read: listed below)")
        for title, listed in (("Refused", [(o.item, o.reason) for o in outcomes if o.result == REFUSED]),
                              ("Left out", left_out)):  # fmt: skip
            if listed:
                self.stdout.write(f"\n{title}:")
                for item, reason in listed:
                    self.stdout.write(f"  {item}: {reason}")


@contextmanager
def _stop_if_unreadable() -> Iterator[None]:
    """A source that cannot be read stops the command, saying why."""
    try:
        yield
    except bulk.ImportSourceError as exc:
        raise CommandError(exc.message) from exc


def _each(items: Sequence[Any], one: Callable[[Any], Outcome], *, workers: int) -> Iterator[Outcome]:
    if workers == 1:
        yield from map(one, items)
        return

    def in_thread(item: Any) -> Outcome:
        try:
            return one(item)
        finally:
            connection.close()  # the thread's own connection, not left open after its item

    with ThreadPoolExecutor(workers) as pool:
        yield from pool.map(in_thread, items)
