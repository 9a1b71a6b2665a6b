"""``manage.py purge``: remove what has outlived its retention limit now (the daily task does it too)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from recognition.services.retention import labels, purge_plan, retention_purge


class Command(BaseCommand):
    help = (
        "Remove analysed images, videos, unmatched faces and badge checks older than their retention limits, and "
        "erase people not seen for longer than FACESITE_RETAIN_PEOPLE_UNSEEN_DAYS. --dry-run only counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Say what would be removed; remove nothing.")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        limits = settings.FACESITE_RETENTION
        self.stdout.write("Limits (days, 0: kept): " + ", ".join(f"{name} {days}" for name, days in limits.items()))
        counts = purge_plan().counts() if dry_run else retention_purge()
        self.stdout.write("Would remove:" if dry_run else "Removed:")
        for name, label in labels().items():
            self.stdout.write(f"  {counts[name]:>7} {label}")
