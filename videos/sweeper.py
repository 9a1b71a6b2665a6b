"""No video waits forever: chunks of a dead worker are retaken, lost messages sent again."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recognition.services.queue import VIDEO, enqueue_after_commit
from videos.analysis import ANALYSE_CHUNK, ANALYSE_VIDEO, FINISH_VIDEO, MAX_ATTEMPTS, video_fail
from videos.models import Video, VideoChunk

logger = logging.getLogger(__name__)


def videos_sweep_stuck() -> dict[str, int]:
    """Chunks claimed longer than ``FACESITE_VIDEO_STALE_AFTER`` ago belonged to a worker that died: back
    to the queue, or the video fails after ``MAX_ATTEMPTS``. A video whose start (a URL being fetched)
    died before it was planned goes back to pending. Chunks, starts and finishes waiting longer
    than ``FACESITE_PENDING_RETRY_AFTER`` may have lost their message: queued again (claims make it harmless)."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.FACESITE_VIDEO_STALE_AFTER)
    waiting = now - timedelta(seconds=settings.FACESITE_PENDING_RETRY_AFTER)
    counts = {
        "chunks_retaken": 0,
        "chunks_requeued": 0,
        "videos_failed": 0,
        "videos_requeued": 0,
        "videos_restarted": 0,
    }
    running = VideoChunk.objects.filter(video__status=Video.Status.PROCESSING)
    for chunk in running.filter(status=VideoChunk.Status.PROCESSING, claimed_at__lt=stale):
        if chunk.attempts >= MAX_ATTEMPTS:
            error = (f"Gave up on {chunk.start:g}–{chunk.end:g} s after {chunk.attempts} attempts: the worker "
                     "was lost or timed out each time.")  # fmt: skip
            video_fail(video_id=str(chunk.video_id), error=error)
            counts["videos_failed"] += 1
            continue
        with transaction.atomic():
            retaken = VideoChunk.objects.filter(
                pk=chunk.pk, status=VideoChunk.Status.PROCESSING, claimed_at__lt=stale
            ).update(status=VideoChunk.Status.PENDING, claim_token=None, updated_at=now)
            if retaken:
                enqueue_after_commit(task=ANALYSE_CHUNK, args=[str(chunk.pk)], queue=VIDEO)
                counts["chunks_retaken"] += 1
    for pk in running.filter(status=VideoChunk.Status.PENDING, updated_at__lt=waiting).values_list("pk", flat=True):
        VideoChunk.objects.filter(pk=pk).update(updated_at=now)
        enqueue_after_commit(task=ANALYSE_CHUNK, args=[str(pk)], queue=VIDEO)
        counts["chunks_requeued"] += 1
    unplanned = Video.objects.filter(status=Video.Status.PROCESSING, updated_at__lt=stale, chunks__isnull=True)
    for video_id in unplanned.values_list("pk", flat=True):
        with transaction.atomic():
            if Video.objects.filter(pk=video_id, status=Video.Status.PROCESSING).update(
                status=Video.Status.PENDING, updated_at=now
            ):
                enqueue_after_commit(task=ANALYSE_VIDEO, args=[str(video_id)], queue=VIDEO)
                counts["videos_restarted"] += 1
    lost = Video.objects.filter(status__in=[Video.Status.PENDING, Video.Status.PROCESSING], updated_at__lt=waiting)
    for video in lost:
        if video.status == Video.Status.PENDING:
            task = ANALYSE_VIDEO
        elif not video.chunks.exclude(status=VideoChunk.Status.DONE).exists():
            task = FINISH_VIDEO
        else:
            continue
        Video.objects.filter(pk=video.pk).update(updated_at=now)
        enqueue_after_commit(task=task, args=[str(video.pk)], queue=VIDEO)
        counts["videos_requeued"] += 1
    if any(counts.values()):
        logger.warning("Video sweeper: %s", counts)
    return counts
