"""The sweeper: no image waits forever for a lost message or a dead worker."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recognition.models import Image
from recognition.services.ingest import image_enqueue_analysis

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    requeued_pending: int
    reclaimed_processing: int
    gave_up: int


def images_sweep_stuck() -> SweepReport:
    """Re-enqueue images whose broker message was lost, so none waits forever.

    * ``pending`` for longer than ``FACESITE_PENDING_RETRY_AFTER``: the message
      may be lost; queue it again (the claim makes duplicates harmless).
    * ``processing`` for longer than ``FACESITE_PROCESSING_STALE_AFTER`` (longer
      than the task hard time limit, so no live task holds it): the worker died;
      put it back to pending and queue it, or give up after
      ``FACESITE_ANALYSIS_MAX_ATTEMPTS`` so one poisonous image cannot loop forever.
    """
    now = timezone.now()
    max_attempts = settings.FACESITE_ANALYSIS_MAX_ATTEMPTS
    stale = now - timedelta(seconds=settings.FACESITE_PROCESSING_STALE_AFTER)
    waiting = now - timedelta(seconds=settings.FACESITE_PENDING_RETRY_AFTER)

    gave_up = Image.objects.filter(
        status=Image.Status.PROCESSING, claimed_at__lt=stale, attempts__gte=max_attempts
    ).update(
        status=Image.Status.FAILED,
        claim_token=None,
        error=f"Gave up after {max_attempts} attempts: the worker was lost or timed out each time.",
        updated_at=now,
    )

    reclaimed = 0
    for pk, features in Image.objects.filter(status=Image.Status.PROCESSING, claimed_at__lt=stale).values_list(
        "pk", "features"
    ):
        with transaction.atomic():
            if Image.objects.filter(pk=pk, status=Image.Status.PROCESSING, claimed_at__lt=stale).update(
                status=Image.Status.PENDING, claim_token=None, updated_at=now
            ):
                reclaimed += 1
                image_enqueue_analysis(image=Image(pk=pk, features=features))

    requeued = 0
    for pk, features in Image.objects.filter(status=Image.Status.PENDING, updated_at__lt=waiting).values_list(
        "pk", "features"
    ):
        with transaction.atomic():
            if Image.objects.filter(pk=pk, status=Image.Status.PENDING, updated_at__lt=waiting).update(updated_at=now):
                requeued += 1
                image_enqueue_analysis(image=Image(pk=pk, features=features))

    report = SweepReport(requeued_pending=requeued, reclaimed_processing=reclaimed, gave_up=gave_up)
    if requeued or reclaimed or gave_up:
        logger.warning("Sweeper: %s", report)
    return report
