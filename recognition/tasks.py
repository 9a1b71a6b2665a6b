"""Celery tasks: thin wrappers that take a primary key and call a service."""

from __future__ import annotations

import logging

from celery import shared_task

from recognition import services

logger = logging.getLogger(__name__)

ANALYSIS_MAX_RETRIES = 5


@shared_task(
    bind=True,
    # Safe to run twice: the service claims the row atomically, so a redelivered
    # message (worker lost, visibility timeout) finds it taken and does nothing.
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=ANALYSIS_MAX_RETRIES,
)
def analyse_image(self, image_id: str) -> None:
    try:
        services.image_analyse(image_id=image_id)
    except services.AnalysisRetry as exc:
        if self.request.retries >= self.max_retries:
            services.image_fail(
                image_id=image_id, error=f"The engine kept failing after {self.max_retries + 1} tries: {exc}"
            )
            return
        # Exponential backoff with jitter: 2, 4, 8, ... seconds, capped at 10 minutes.
        countdown = min(600, 2 ** (self.request.retries + 1))
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(acks_late=True, reject_on_worker_lost=True)
def sweep_stuck_images() -> dict:
    return services.images_sweep_stuck().__dict__
