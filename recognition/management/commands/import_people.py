"""``manage.py import_people``: enrol people from a folder tree or a CSV file (recognition/services/bulk.py)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.core.management.base import CommandParser

from recognition.management.importing import ImportCommand
from recognition.management.progress import counted
from recognition.services import bulk

NOT_IN_A_PERSONS_FOLDER = "not in a person's own folder: each person's photos go in <folder>/<external id>/"


class Command(ImportCommand):
    help = (
        "Enrol people from a folder or an S3 prefix (one sub-folder per person, named by their external id, "
        "holding their photos) or a CSV file (external_id,name,photo with a path, URL or s3:// object). Each "
        "photo is enrolled as through the API; people are found by external id and photos already enrolled are "
        "skipped, so an interrupted run is simply started again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "source", help="A folder or an s3://bucket/prefix/ of <external id>/<photos>, or a .csv file."
        )
        super().add_arguments(parser)

    def handle(
        self,
        *args: Any,
        source: str,
        collection: str | None,
        dry_run: bool,
        workers: int,
        encoding: str,
        **options: Any,
    ) -> None:
        target = self.collection(collection)
        files = self.listing(source)
        items = self.items_in(lambda: bulk.photos_in(source, encoding=encoding, files=files))
        people = counted(len({item.external_id for item in items}), "person", "people")
        self.stdout.write(
            f"{'Checking' if dry_run else 'Enrolling'} {counted(len(items), 'photo')} of {people} into {target.name!r}"
            f"{' (dry run: nothing is changed)' if dry_run else ''}."
        )
        self.import_all(
            items,
            partial(bulk.import_photo, collection=target, dry_run=dry_run),
            workers=workers,
            results=(bulk.WOULD_ENROL if dry_run else bulk.ENROLLED, bulk.SKIPPED, bulk.REFUSED),
            left_out=bulk.left_out(
                source, read=(item.photo for item in items), elsewhere=NOT_IN_A_PERSONS_FOLDER, files=files
            ),
        )
