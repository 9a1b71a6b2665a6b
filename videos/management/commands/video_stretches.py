"""``manage.py video_stretches [VIDEO_ID ...]``: cut done videos' label stretches again, as they are cut today."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Exists, OuterRef, QuerySet

from videos.labels import stretches_recut
from videos.models import Video, VideoLabel


class Command(BaseCommand):
    help = (
        "Cut the label, moderation and text stretches of done videos again from what each frame kept, as this "
        "version cuts them (after an upgrade whose CHANGELOG says it cuts them otherwise). Every done video "
        "analysed for labels, moderation or text, or only those named."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("video_ids", nargs="*", metavar="VIDEO_ID", help="Only these videos (their ids).")

    def handle(self, *args: Any, video_ids: list[str], **options: Any) -> None:
        done = Video.objects.filter(status=Video.Status.DONE).order_by("created_at")
        labelled = done.filter(Exists(VideoLabel.objects.filter(video=OuterRef("pk"))))
        videos = self._named(done, video_ids) if video_ids else list(labelled)
        total = len(videos)
        before_all = after_all = 0
        for number, video in enumerate(videos, start=1):
            start = time.monotonic()
            before, after = stretches_recut(video)
            before_all, after_all = before_all + before, after_all + after
            self.stdout.write(f"[{number}/{total}] {video}: {before:,} → {after:,} stretches "
                              f"({time.monotonic() - start:.1f} s)")  # fmt: skip
        self.stdout.write(self.style.SUCCESS(f"{total} videos: {before_all:,} → {after_all:,} stretches."))

    def _named(self, done: QuerySet[Video], video_ids: list[str]) -> list[Video]:
        try:
            found = {str(video.pk): video for video in done.filter(pk__in=video_ids)}
        except ValidationError as exc:
            raise CommandError(f"Not a video id: {exc.messages[0]}") from exc
        missing = [each for each in video_ids if each not in found]
        if missing:
            raise CommandError(f"No done video has the id {', '.join(missing)}: nothing was cut again.")
        return [found[each] for each in video_ids]
