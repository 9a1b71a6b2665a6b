"""Sending one delivery: claim it, record the attempt, POST the signed document, record the outcome."""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.models import Delivery, DeliveryAttempt, validate_endpoint_url
from integrations.services.outbox import enqueue

logger = logging.getLogger(__name__)

USER_AGENT = "Facesite-Delivery/1"
DUE_TOLERANCE = timedelta(seconds=1)


@dataclass(frozen=True)
class Outcome:
    status: str  # Delivery.Status: DELIVERED, RETRYING or DEAD
    status_code: int | None = None
    excerpt: str = ""
    error: str = ""
    retry_after: float | None = None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``timestamp + "." + body`` with the endpoint's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def delivery_send(*, delivery_id: str) -> Delivery | None:
    """Send a due delivery once. None when it is not due, already being sent, or finished."""
    now = timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id,
        status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING],
        # A countdown message may run a moment before its due time; it must not be dropped.
        next_attempt_at__lte=now + DUE_TOLERANCE,
    ).update(status=Delivery.Status.DELIVERING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now)
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    # Record the attempt before the POST, so a worker that dies mid-request leaves a trace.
    attempt = DeliveryAttempt.objects.create(
        delivery=delivery, number=delivery.attempts, started_at=now, replay=delivery.replay_requested
    )
    outcome = _post(delivery)
    _record(delivery, attempt, outcome)
    return delivery


def _post(delivery: Delivery) -> Outcome:
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        return Outcome(Delivery.Status.DEAD, error="The endpoint is disabled.")
    try:
        validate_endpoint_url(endpoint.url)
    except ValidationError as exc:
        return Outcome(Delivery.Status.DEAD, error=" ".join(exc.messages))
    try:
        secret = endpoint.secret
    except ImproperlyConfigured as exc:  # the secrets key changed: retried until it is put back, or dies of age
        return Outcome(Delivery.Status.RETRYING, error=str(exc))
    body = delivery.payload.encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/xml; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Facesite-Event": delivery.event,
        "Facesite-Delivery": str(delivery.pk),
        "Facesite-Attempt": str(delivery.attempts),
        "Facesite-Idempotency-Key": delivery.idempotency_key,
        "Facesite-Timestamp": timestamp,
        "Facesite-Signature": signature(secret, timestamp, body),
    }
    limit = settings.FACESITE_DELIVERY_RESPONSE_EXCERPT
    try:
        with requests.post(
            endpoint.url,
            data=body,
            headers=headers,
            timeout=endpoint.timeout_seconds,
            allow_redirects=False,
            stream=True,
        ) as response:
            excerpt = response.raw.read(limit, decode_content=True).decode(response.encoding or "utf-8", "replace")
            code = response.status_code
            retry_after = _retry_after(response.headers.get("Retry-After"))
            location = response.headers.get("Location", "")
    except requests.Timeout:
        return Outcome(Delivery.Status.RETRYING, error=f"No answer within {endpoint.timeout_seconds:g} s (timed out).")
    except requests.ConnectionError as exc:
        return Outcome(Delivery.Status.RETRYING, error=f"Could not connect: {_reason(exc)}")
    except requests.RequestException as exc:
        return Outcome(Delivery.Status.DEAD, error=f"The request could not be made: {_reason(exc)}")
    if 200 <= code < 300:
        return Outcome(Delivery.Status.DELIVERED, code, excerpt)
    if 300 <= code < 400:
        return Outcome(
            Delivery.Status.DEAD,
            code,
            excerpt,
            f"HTTP {code}: redirects are not followed (Location: {location or '-'}).",
        )
    if code in (408, 429) or code >= 500:
        return Outcome(
            Delivery.Status.RETRYING, code, excerpt, f"HTTP {code}: the endpoint asked to try again later.", retry_after
        )
    return Outcome(Delivery.Status.DEAD, code, excerpt, f"HTTP {code}: the endpoint refused the delivery.")


def _record(delivery: Delivery, attempt: DeliveryAttempt, outcome: Outcome) -> None:
    now = timezone.now()
    new_status = outcome.status
    delay = None
    error = outcome.error
    if new_status == Delivery.Status.RETRYING:
        delay = _backoff(delivery.attempts, outcome.retry_after)
        if now + timedelta(seconds=delay) > delivery.give_up_at:
            new_status = Delivery.Status.DEAD
            error = f"Gave up after {delivery.attempts} attempts (maximum age reached). Last error: {outcome.error}"
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now,
            status_code=outcome.status_code,
            response_excerpt=outcome.excerpt,
            error=error,
            outcome=new_status,
        )
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.DELIVERING).update(
            status=new_status,
            claimed_at=None,
            replay_requested=False,
            last_status_code=outcome.status_code,
            last_response_excerpt=outcome.excerpt,
            last_error=error,
            delivered_at=now if new_status == Delivery.Status.DELIVERED else F("delivered_at"),
            next_attempt_at=now + timedelta(seconds=delay) if delay is not None else F("next_attempt_at"),
            updated_at=now,
        )
        if delay is not None and delay <= settings.FACESITE_DELIVERY_QUEUE_AHEAD:
            # Longer waits are left to the sweeper: Redis would redeliver a message
            # held past its visibility timeout.
            enqueue(delivery.pk, countdown=delay)
    log = logger.info if new_status == Delivery.Status.DELIVERED else logger.warning
    log("Delivery %s to %s: %s %s", delivery.pk, delivery.endpoint, new_status, error)


def _backoff(attempts: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(retry_after, settings.FACESITE_DELIVERY_MAX_AGE)
    base = settings.FACESITE_DELIVERY_BACKOFF_BASE * 2 ** max(attempts - 1, 0)
    # Jitter spreads the retries of many deliveries to one endpoint that came back up.
    return min(base, settings.FACESITE_DELIVERY_BACKOFF_MAX) * random.uniform(0.5, 1.0)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(when.tzinfo)).total_seconds())


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host", "timed out"):
        if marker in text:
            return marker
    return text[:300]
