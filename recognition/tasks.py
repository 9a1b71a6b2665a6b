"""Celery tasks: thin wrappers that take a primary key and call a service."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.conf import settings

from recognition.services.analysis import AnalysisRetry, image_analyse, image_fail
from recognition.services.collections import reference_changes_prune
from recognition.services.exports import export_make, exports_sweep_lost
from recognition.services.files import delete_again_in, files_delete
from recognition.services.retention import retention_purge
from recognition.services.strays import strays_check
from recognition.services.sweeper import images_sweep_stuck
from recognition.services.watch import watch_alert_email

ANALYSIS_MAX_RETRIES = 5
DELETE_FILES_MAX_RETRIES = 30  # 1, 2, 4, … 32 min, then hourly: about a day

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    # Safe to run twice: the service claims the row atomically, so a redelivered
    # message (worker lost, visibility timeout) finds it taken and does nothing.
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=ANALYSIS_MAX_RETRIES,
)
def analyse_image(self: Task, image_id: str) -> None:
    try:
        image_analyse(image_id=image_id)
    except AnalysisRetry as exc:
        if self.request.retries >= ANALYSIS_MAX_RETRIES:
            error = f"Gave up after {ANALYSIS_MAX_RETRIES + 1} tries: {exc}"  # exc says what failed
            image_fail(image_id=image_id, error=error)
            return
        # Exponential backoff: 2, 4, 8, ... seconds, capped at 10 minutes.
        countdown = min(600, 2 ** (self.request.retries + 1))
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(acks_late=True, reject_on_worker_lost=True)
def sweep_stuck_images() -> dict[str, int]:
    return {
        **images_sweep_stuck().__dict__,
        **exports_sweep_lost(),
        "reference_changes_pruned": reference_changes_prune(),
    }


@shared_task
def purge_expired() -> dict[str, int]:
    return retention_purge()


@shared_task(time_limit=3600, soft_time_limit=3540)  # a walk of a large bucket takes longer than analysis may
def check_stray_files() -> dict[str, object]:
    return strays_check()


# Acknowledged when done, so a lost worker's export is made again (the service makes only a pending one).
@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=settings.FACESITE_EXPORT_TIME_LIMIT,
             soft_time_limit=settings.FACESITE_EXPORT_TIME_LIMIT - 30)  # fmt: skip
def make_person_export(export_id: str) -> str | None:
    return export_make(export_id=export_id)


# Acknowledged when done: deleting twice is harmless, a message lost with a worker would leave the files.
@shared_task(bind=True, max_retries=DELETE_FILES_MAX_RETRIES, acks_late=True, reject_on_worker_lost=True)
def delete_files(self: Task, names: list[str]) -> list[str]:
    """Files whose rows are gone that the storage refused to delete: tried again, with longer waits each time
    (1 min, 2, 4, … capped at 1 h), for about a day; then logged as an error to delete by hand."""
    left = files_delete(names=names)
    if not left:
        return []
    if self.request.retries >= DELETE_FILES_MAX_RETRIES:
        logger.error("Gave up deleting %s from storage: delete them by hand", left)
        return left
    # This run was the storage's refusal number retries + 2 (the first was when the rows were deleted).
    raise self.retry(args=(left,), countdown=delete_again_in(refusals=self.request.retries + 2))


@shared_task(autoretry_for=(OSError,), retry_backoff=30, retry_backoff_max=1800, max_retries=10)
def send_watch_alert(alert_id: str) -> bool:
    return watch_alert_email(alert_id=alert_id)  # a mail server that is down (OSError) is tried again later
