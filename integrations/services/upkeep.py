"""Keeping deliveries moving: the sweeper, and resending finished deliveries."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import Delivery, DeliveryAttempt
from integrations.services.outbox import enqueue
from integrations.services.sending import give_up_reason
from recognition.audit import Actor, audit_record
from recognition.exceptions import Conflict
from recognition.models import AuditEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliverySweepReport:
    queued: int
    reclaimed: int
    expired: int = 0


def deliveries_sweep() -> DeliverySweepReport:
    """Keep every delivery moving until it ends ``delivered`` or ``dead``, never stuck:

    * a delivery ``delivering`` longer than a task may run lost its worker: retried, or dead when it is past
      its maximum age or attempts;
    * a waiting delivery past its maximum age is dead;
    * a due delivery whose message would have run by now lost it: queued again, and marked, so the next
      sweep does not queue it once more while workers catch up.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.FACESITE_PROCESSING_STALE_AFTER)
    reclaimed = expired = 0
    for delivery in Delivery.objects.filter(status=Delivery.Status.DELIVERING, claimed_at__lt=stale):
        gave_up = give_up_reason(delivery.attempts, delivery.give_up_at, now)
        with transaction.atomic():
            if Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.DELIVERING, claimed_at__lt=stale).update(
                status=Delivery.Status.DEAD if gave_up else Delivery.Status.RETRYING,
                claimed_at=None,
                next_attempt_at=now,
                last_error=f"The worker sending this delivery was lost. {gave_up or 'Sending again.'}",
                updated_at=now,
            ):
                DeliveryAttempt.objects.filter(delivery=delivery, finished_at__isnull=True).update(
                    finished_at=now, outcome="lost", error="The worker was lost during the request."
                )
                if gave_up:
                    expired += 1
                else:
                    enqueue(delivery.pk)
                    reclaimed += 1
    waiting = [Delivery.Status.PENDING, Delivery.Status.RETRYING]
    expired += Delivery.objects.filter(status__in=waiting, give_up_at__lt=now).update(
        status=Delivery.Status.DEAD, last_error="Gave up: the maximum age was reached while waiting.", updated_at=now
    )
    # A due delivery whose message would have run by now lost its message (a Redis restarted without saving).
    overdue = now - timedelta(seconds=settings.FACESITE_DELIVERY_LOST_AFTER)
    due = Delivery.objects.filter(status__in=waiting, next_attempt_at__lte=overdue).filter(
        Q(queued_at__isnull=True) | Q(queued_at__lt=overdue)
    )
    queued = 0
    for pk in due.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            if Delivery.objects.filter(pk=pk, status__in=waiting).update(queued_at=now):
                enqueue(pk)
                queued += 1
    report = DeliverySweepReport(queued=queued, reclaimed=reclaimed, expired=expired)
    if queued or reclaimed or expired:
        logger.warning("Delivery sweeper: %s", report)
    return report


def delivery_resend(*, delivery: Delivery, actor: Actor = None, client_ip: str | None = None) -> None:
    """Send one delivered or dead delivery again; ``Conflict`` while it is still pending or being sent."""
    if not deliveries_replay(deliveries=[delivery], actor=actor, client_ip=client_ip):
        raise Conflict(
            f"Only delivered or dead deliveries can be resent; this one is {delivery.status}.", code="not_resendable"
        )


def deliveries_replay(*, deliveries: Iterable[Delivery], actor: Actor = None, client_ip: str | None = None) -> int:
    """Send delivered or dead deliveries again, with the same idempotency key, and record who asked.
    Returns how many were queued."""
    now = timezone.now()
    count = 0
    queued = []
    with transaction.atomic():
        for delivery in deliveries:
            if Delivery.objects.filter(
                pk=delivery.pk, status__in=[Delivery.Status.DELIVERED, Delivery.Status.DEAD]
            ).update(
                status=Delivery.Status.PENDING,
                replay_requested=True,
                next_attempt_at=now,
                give_up_at=now + timedelta(seconds=settings.FACESITE_DELIVERY_MAX_AGE),
                last_error="",
                updated_at=now,
            ):
                enqueue(delivery.pk)
                queued.append(str(delivery.pk))
                count += 1
        if queued:
            audit_record(actor=actor, action=AuditEvent.Action.DELIVERY_RESEND, client_ip=client_ip, deliveries=queued)
    return count
