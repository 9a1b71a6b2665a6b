"""``manage.py import_images``: upload images in bulk and queue their analysis (recognition/services/bulk.py)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.core.management.base import CommandError, CommandParser

from recognition.exceptions import FacesiteError
from recognition.management.importing import ImportCommand
from recognition.management.progress import counted
from recognition.services import bulk
from recognition.services.ingest import clean_features


class Command(ImportCommand):
    help = (
        "Upload the photos of a folder tree or an S3 prefix (s3://bucket/prefix/), or the paths, URLs and s3:// "
        "objects a text file lists (one a line), and queue "
        "their analysis as uploads through the API are. Photos already uploaded to the collection and URLs "
        "already imported are skipped, so an interrupted run is simply started again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="A folder, an s3://bucket/prefix/, or a text file of paths and URLs.")
        parser.add_argument(
            "--features", help="Comma-separated analyses (labels, faces, text, moderation, properties); "
            "default: the API's default."
        )  # fmt: skip
        super().add_arguments(parser)

    def handle(
        self, *args: Any, source: str, collection: str | None, features: str | None, dry_run: bool, workers: int,
        encoding: str, **options: Any,
    ) -> None:  # fmt: skip
        target = self.collection(collection)
        try:
            wanted = clean_features(features=[f.strip() for f in features.split(",")] if features else None)
        except FacesiteError as exc:
            raise CommandError(exc.message) from exc
        files = self.listing(source)
        items = self.items_in(lambda: bulk.images_in(source, encoding=encoding, files=files))
        self.stdout.write(
            f"{'Checking' if dry_run else 'Queuing'} {counted(len(items), 'image')} for {target.name!r}"
            f"{' (dry run: nothing is changed)' if dry_run else ''}."
        )
        self.import_all(
            items,
            partial(bulk.import_image, collection=target, features=wanted, dry_run=dry_run),
            workers=workers,
            results=(bulk.WOULD_QUEUE if dry_run else bulk.QUEUED, bulk.SKIPPED, bulk.REFUSED),
            left_out=bulk.left_out(source, read=items, elsewhere="not read", files=files),
        )
