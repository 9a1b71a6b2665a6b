"""Sending one delivery: claim it, record the attempt, POST the signed document, record the outcome."""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import requests
import urllib3
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.models import Delivery, DeliveryAttempt, Endpoint, validate_endpoint_url
from integrations.services.outbox import enqueue
from recognition.net import (
    CA_BUNDLE_HINT,
    REFUSED,
    certificate_rejection,
    host_not_found_in,
    kept_session,
    refusal_in,
)

logger = logging.getLogger(__name__)

USER_AGENT = "Facesite-Delivery/1"
DUE_TOLERANCE = timedelta(seconds=1)
ADDRESS_REFUSED = (
    f"The endpoint's address is {REFUSED}; if the receiver is yours, allow its network in "
    "FACESITE_URL_FETCH_ALLOWED_NETWORKS."
)


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


def signatures(secrets: list[str], timestamp: str, body: bytes) -> str:
    """The ``Facesite-Signature`` header: one signature for each secret that signs, separated by ", " (two
    while a secret replaced still signs)."""
    return ", ".join(signature(secret, timestamp, body) for secret in secrets)


def delivery_send(*, delivery_id: str) -> Delivery | None:
    """Send a due delivery once. None when it is not due, already being sent, or finished."""
    now = timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id,
        status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING],
        # A countdown message may run a moment before its due time; it must not be dropped.
        next_attempt_at__lte=now + DUE_TOLERANCE,
    ).update(
        status=Delivery.Status.DELIVERING, claimed_at=now, queued_at=None, attempts=F("attempts") + 1, updated_at=now
    )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    # Record the attempt before the POST, so a worker that dies mid-request leaves a trace.
    attempt = DeliveryAttempt.objects.create(
        delivery=delivery, number=delivery.attempts, started_at=now, replay=delivery.replay_requested
    )
    try:
        outcome = _post(delivery)
    except SoftTimeLimitExceeded:
        outcome = Outcome(Delivery.Status.RETRYING, error="The worker's time limit ran out during the request.")
    except Exception as exc:  # whatever happens, the attempt is recorded and the delivery moves on
        logger.exception("Sending delivery %s crashed", delivery.pk)
        outcome = Outcome(Delivery.Status.RETRYING, error=f"Internal error while sending ({type(exc).__name__}).")
    _record(delivery, attempt, outcome)
    return delivery


def _post(delivery: Delivery) -> Outcome:
    if not delivery.endpoint.enabled:
        return Outcome(Delivery.Status.DEAD, error="The endpoint is disabled.")
    return post_document(
        delivery.endpoint, event=delivery.event, delivery_id=str(delivery.pk), attempt=delivery.attempts,
        key=delivery.idempotency_key, body=delivery.payload.encode(),
    )  # fmt: skip


def post_document(endpoint: Endpoint, *, event: str, delivery_id: str, attempt: int, key: str, body: bytes) -> Outcome:
    """POST ``body`` to ``endpoint``, signed, once; what came of it (``Delivery.Status``: delivered, worth
    trying again, or dead)."""
    try:
        validate_endpoint_url(endpoint.url, resolve=False)  # the session checks the addresses it connects to
    except ValidationError as exc:
        return Outcome(Delivery.Status.DEAD, error=" ".join(exc.messages))
    try:
        signing_secrets = endpoint.signing_secrets()
    except ImproperlyConfigured as exc:  # the secrets key changed: retried until it is put back, or dies of age
        return Outcome(Delivery.Status.RETRYING, error=str(exc))
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/xml; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Facesite-Event": event,
        "Facesite-Delivery": delivery_id,
        "Facesite-Attempt": str(attempt),
        "Facesite-Idempotency-Key": key,
        "Facesite-Timestamp": timestamp,
        "Facesite-Signature": signatures(signing_secrets, timestamp, body),
    }
    limit = settings.FACESITE_DELIVERY_RESPONSE_EXCERPT
    # The endpoint's timeout bounds the whole exchange, however slowly the receiver answers. The
    # connection stays open for the thread's next delivery: no new TCP and TLS handshakes to the endpoint.
    deadline = endpoint.timeout_seconds
    with kept_session(
        deadline=deadline,
        keep_for=settings.FACESITE_DELIVERY_KEEP_ALIVE,
        allowed_networks=settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS,
        extra_ca_file=settings.FACESITE_CA_BUNDLE,
    ) as (session, guard):
        try:
            with session.post(
                endpoint.url, data=body, headers=headers, timeout=deadline, allow_redirects=False, stream=True
            ) as response:
                code = response.status_code
                retry_after = _retry_after(response.headers.get("Retry-After"))
                location = response.headers.get("Location", "")
                excerpt = _excerpt(response, limit)
        except requests.RequestException as exc:
            if refusal_in(exc):
                return Outcome(Delivery.Status.DEAD, error=ADDRESS_REFUSED)
            if guard.expired or isinstance(exc, requests.Timeout):
                return Outcome(Delivery.Status.RETRYING, error=f"No answer within {deadline:g} s (timed out).")
            if why := certificate_rejection(exc):  # retried: its authority may be trusted after a restart
                error = f"The endpoint's certificate was not accepted ({why}). {CA_BUNDLE_HINT}"
                return Outcome(Delivery.Status.RETRYING, error=error)
            if missing := host_not_found_in(exc):  # retried: its DNS record may come later
                return Outcome(Delivery.Status.RETRYING, error=f"Could not connect: {missing}")
            if isinstance(exc, requests.ConnectionError):
                return Outcome(Delivery.Status.RETRYING, error=f"Could not connect: {_reason(exc)}")
            return Outcome(Delivery.Status.DEAD, error=f"The request could not be made: {_reason(exc)}")
    if guard.expired:  # cut off mid-answer: headers end quietly at the closed socket, so nothing is certain
        return Outcome(Delivery.Status.RETRYING, code, excerpt, f"No answer within {deadline:g} s (timed out).")
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
    if code == 413:  # a long video's document can pass a receiver's default limit (nginx's is 1 MB)
        return Outcome(Delivery.Status.DEAD, code, excerpt, f"HTTP 413: the endpoint refused the document as too "
                       f"large ({len(body):,} bytes). Raise the receiver's limit on request bodies (nginx: "
                       "client_max_body_size), then resend it.")  # fmt: skip
    return Outcome(Delivery.Status.DEAD, code, excerpt, f"HTTP {code}: the endpoint refused the delivery.")


def _excerpt(response: requests.Response, limit: int) -> str:
    """The start of the answer, for people to read; a receiver cut off while sending it was still heard."""
    try:
        raw = response.raw.read(limit, decode_content=True)
    except (OSError, ValueError, urllib3.exceptions.HTTPError) as exc:
        return f"(the answer could not be read: {type(exc).__name__})"
    return raw.decode(response.encoding or "utf-8", "replace")


def _record(delivery: Delivery, attempt: DeliveryAttempt, outcome: Outcome) -> None:
    now = timezone.now()
    new_status = outcome.status
    delay = None
    error = outcome.error
    if new_status == Delivery.Status.RETRYING:
        delay = _backoff(delivery.attempts, outcome.retry_after)
        gave_up = give_up_reason(delivery.attempts, delivery.give_up_at, now + timedelta(seconds=delay))
        if gave_up:
            new_status = Delivery.Status.DEAD
            error = f"{gave_up} Last error: {outcome.error}"
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now,
            status_code=outcome.status_code,
            response_excerpt=outcome.excerpt,
            error=error,
            outcome=new_status,
        )
        changed = Delivery.objects.select_for_update().filter(pk=delivery.pk, document_changed=True).exists()
        if changed and new_status != Delivery.Status.RETRYING:
            # Re-analysis wrote a newer document while this one was on its way: send that one now.
            new_status, delay = Delivery.Status.PENDING, 0.0
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.DELIVERING).update(
            status=new_status,
            document_changed=False,
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


def give_up_reason(attempts: int, give_up_at: datetime, next_attempt_at: datetime) -> str:
    """Why a failing delivery should not be tried again (empty when it should)."""
    if attempts >= settings.FACESITE_DELIVERY_MAX_ATTEMPTS:
        return f"Gave up after {attempts} attempts (FACESITE_DELIVERY_MAX_ATTEMPTS)."
    if next_attempt_at > give_up_at:
        return f"Gave up after {attempts} attempts (maximum age reached)."
    return ""


def _backoff(attempts: int, retry_after: float | None) -> float:
    """Seconds to wait: the receiver's Retry-After, or a doubling delay with jitter; never less than
    FACESITE_DELIVERY_BACKOFF_MIN, so no answer can make the sender POST in a tight loop."""
    minimum = settings.FACESITE_DELIVERY_BACKOFF_MIN
    if retry_after is not None:
        return min(max(retry_after, minimum), settings.FACESITE_DELIVERY_MAX_AGE)
    base = settings.FACESITE_DELIVERY_BACKOFF_BASE * 2 ** max(attempts - 1, 0)
    # Jitter spreads the retries of many deliveries to one endpoint that came back up.
    return max(minimum, min(base, settings.FACESITE_DELIVERY_BACKOFF_MAX) * random.uniform(0.5, 1.0))


#: RFC 9110 delta-seconds: ASCII digits only (str.isdigit also takes "²" and "٣").
_DELTA_SECONDS = re.compile(r"[0-9]{1,10}")


def _retry_after(value: str | None) -> float | None:
    """Retry-After as RFC 9110 has it (delta-seconds or an HTTP-date, in seconds from now); None otherwise."""
    if not value:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
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
