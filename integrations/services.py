"""Integration services. The XML delivery to third parties builds on these (issue 4)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.models import OutboxEvent

logger = logging.getLogger(__name__)


def event_dispatch(*, event_id: int) -> bool:
    """Mark the event dispatched; False when another run already did (duplicates are harmless)."""
    claimed = OutboxEvent.objects.filter(pk=event_id, dispatched_at__isnull=True).update(dispatched_at=timezone.now())
    if claimed:
        logger.info("Outbox event %s dispatched.", event_id)
    return bool(claimed)


def events_sweep_undispatched() -> int:
    """Queue again the events whose dispatch message was lost."""
    from integrations.tasks import dispatch_event

    cutoff = timezone.now() - timedelta(seconds=settings.FACESITE_PENDING_RETRY_AFTER)
    ids = list(
        OutboxEvent.objects.filter(dispatched_at__isnull=True, created_at__lt=cutoff).values_list("pk", flat=True)
    )
    for pk in ids:
        transaction.on_commit(lambda pk=pk: dispatch_event.delay(pk))
    return len(ids)
