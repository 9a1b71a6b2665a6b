"""Celery tasks: thin wrappers that take a primary key and call a service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from videos.analysis import video_chunk_analyse, video_finish, video_start
from videos.sweeper import videos_sweep_stuck

# Each is safe to run twice (acks_late, reject_on_worker_lost): its service claims its row first, so a
# redelivered message finds it taken. Video work has its own, longer time limit.
LIMIT = settings.FACESITE_VIDEO_TASK_TIME_LIMIT


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=LIMIT, soft_time_limit=LIMIT - 30)
def analyse_video(video_id: str) -> None:
    video_start(video_id=video_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=LIMIT, soft_time_limit=LIMIT - 30)
def analyse_video_chunk(chunk_id: int) -> None:
    video_chunk_analyse(chunk_id=int(chunk_id))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def finish_video(video_id: str) -> None:
    video_finish(video_id=video_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def sweep_stuck_videos() -> dict[str, int]:
    return videos_sweep_stuck()
