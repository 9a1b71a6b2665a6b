"""``manage.py stray_files``: stored files no row names any more (a face crop of someone erased, say)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from recognition.services.files import STORAGE_ERRORS
from recognition.services.strays import folders, strays_delete, strays_find

MIN_HOURS = 1.0  # an upload's file is stored moments before its row commits


class Command(BaseCommand):
    help = (
        "List the stored files that no row names any more, in the folders Facesite stores under (images, "
        "thumbnails and face crops, videos and their frames): left by a process that died between a row's "
        "deletion and its file's, or by a storage that refused the deletion for longer than Facesite tries "
        "again. --delete deletes them (audited as storage.strays.delete). Files written less than "
        "--older-than hours ago are left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than", type=float, default=24.0, metavar="HOURS",
            help=f"Only files written longer ago than this (default 24; at least {MIN_HOURS:g}).",
        )  # fmt: skip
        parser.add_argument("--delete", action="store_true", help="Delete the stray files found.")

    def handle(self, *args: Any, older_than: float, delete: bool, **options: Any) -> None:
        if older_than < MIN_HOURS:
            raise CommandError(
                f"--older-than must be at least {MIN_HOURS:g} hour: an upload's file is stored just before its "
                "row, so a younger file may be one whose row is about to be committed."
            )
        self.stdout.write(f"Looking in {', '.join(folders())} for files no row names, over {older_than:g} h old.")
        try:
            found = strays_find(
                older_than=timedelta(hours=older_than),
                progress=lambda scanned: self.stdout.write(f"  {scanned:,} files looked at…"),
            )
        except STORAGE_ERRORS as exc:
            raise CommandError(f"The storage could not be read ({exc}); nothing was deleted.") from exc
        self.stdout.write(
            f"{found.scanned.total():,} files: {found.kept:,} kept (named by a row, or not named as Facesite names "
            f"its files), {len(found.recent):,} too recent to judge, {len(found.strays):,} stray."
        )
        for name, written in found.strays.items():
            self.stdout.write(f"  {name}  (written {timezone.localtime(written):%Y-%m-%d %H:%M %Z})")
        if not found.strays:
            return
        if not delete:
            self.stdout.write("Nothing deleted: run again with --delete to delete them.")
            return
        result = strays_delete(names=list(found.strays), actor=None, via="manage.py stray_files")
        self.stdout.write(self.style.SUCCESS(f"Deleted {len(result.deleted):,} (audited as storage.strays.delete)."))
        if result.named_again:
            self.stdout.write(f"Kept {len(result.named_again):,} that a row names now.")
        if result.refused:
            raise CommandError(
                f"The storage would not delete {len(result.refused):,} now (see the log for why): "
                + ", ".join(result.refused[:10])
                + (" …" if len(result.refused) > 10 else "")
                + ". Run again later."
            )
