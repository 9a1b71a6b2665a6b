"""Deliveries of events to third-party endpoints: outbox, signed POST, retries, replay."""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from integrations import xml
from integrations.models import Delivery, DeliveryAttempt, Endpoint, Event, validate_endpoint_url
from integrations.secrets import new_secret
from recognition.audit import Actor, audit_record
from recognition.exceptions import Conflict, InvalidInput
from recognition.models import AuditEvent, Image, Verification
from recognition.services.queue import enqueue_after_commit

logger = logging.getLogger(__name__)

KEY_NAMESPACE = uuid.UUID("6f1d2b9e-4a53-4c1e-9a3e-0f4f7c9d2a10")
USER_AGENT = "Facesite-Delivery/1"
SEND_DELIVERY = "integrations.tasks.send_delivery"
DUE_TOLERANCE = timedelta(seconds=1)


def idempotency_key(*, event: str, subject_id: str, endpoint_id: int) -> str:
    """Stable for one subject (image, verification), endpoint and event: retries and replays reuse it."""
    return str(uuid.uuid5(KEY_NAMESPACE, f"{event}:{subject_id}:{endpoint_id}"))


# --- Outbox ---------------------------------------------------------------------------------


def deliveries_for_image(*, image: Image) -> list[Delivery]:
    """Write one delivery per matching endpoint and event; call inside the transaction that marks the image done.

    The rows commit or roll back with the results, and their sending is queued
    only after commit. A re-analysed image updates its existing deliveries
    (same idempotency keys) with the new document and sends them again.
    """
    identified = image.faces.filter(person__isnull=False).exists()
    created = []
    for endpoint in Endpoint.objects.filter(enabled=True):
        if endpoint.collection_id and endpoint.collection_id != image.collection_id:
            continue
        if endpoint.only_identified and not identified:
            continue
        for event in endpoint.events:
            if event == Event.IMAGE_ANALYSED or (event == Event.PERSON_IDENTIFIED and identified):
                key = idempotency_key(event=event, subject_id=str(image.pk), endpoint_id=endpoint.pk)
                payload = xml.image_event(image, event=event, key=key).decode()
                created.append(_outbox(endpoint=endpoint, event=event, key=key, payload=payload, image=image))
    return created


def deliveries_for_verification(*, verification: Verification) -> list[Delivery]:
    """Write ``verification.result`` deliveries; call inside the transaction that records the check."""
    created = []
    for endpoint in Endpoint.objects.filter(enabled=True):
        if Event.VERIFICATION_RESULT in endpoint.events:
            key = idempotency_key(
                event=Event.VERIFICATION_RESULT, subject_id=str(verification.pk), endpoint_id=endpoint.pk
            )
            payload = _verification_document(verification, key)
            created.append(_outbox(endpoint=endpoint, event=Event.VERIFICATION_RESULT, key=key, payload=payload))
    return created


def deliveries_redact(*, image_ids: Iterable[uuid.UUID], verification_ids: Iterable[uuid.UUID]) -> int:
    """Rebuild the documents of every delivery, sent or not, about these images and checks from what the
    database holds now (after an erasure), so that neither a retry nor a resend carries what was erased.
    Keys stay the same: receivers see a newer version of the same event. Returns how many were rebuilt."""
    rebuilt = 0
    for delivery in Delivery.objects.filter(image_id__in=list(image_ids)).select_related("image__collection"):
        assert delivery.image is not None
        delivery.payload = xml.image_event(delivery.image, event=delivery.event, key=delivery.idempotency_key).decode()
        delivery.save(update_fields=["payload", "updated_at"])
        rebuilt += 1
    checks = Verification.objects.in_bulk(list(verification_ids))
    endpoints = list(Endpoint.objects.values_list("pk", flat=True))
    by_key = {
        idempotency_key(event=Event.VERIFICATION_RESULT, subject_id=str(pk), endpoint_id=endpoint): check
        for pk, check in checks.items()
        for endpoint in endpoints
    }
    for delivery in Delivery.objects.filter(idempotency_key__in=list(by_key)):
        delivery.payload = _verification_document(by_key[delivery.idempotency_key], delivery.idempotency_key)
        delivery.save(update_fields=["payload", "updated_at"])
        rebuilt += 1
    return rebuilt


def _verification_document(verification: Verification, key: str) -> str:
    return xml.verification_event(
        key=key,
        verification_id=str(verification.pk),
        external_id=verification.external_id,
        outcome=verification.outcome,
        match=verification.match,
        similarity=verification.similarity,
        threshold=verification.threshold,
        verified_at=verification.created_at,
        person=verification.person,
    ).decode()


def _outbox(*, endpoint: Endpoint, event: str, key: str, payload: str, image: Image | None = None) -> Delivery:
    now = timezone.now()
    delivery, _ = Delivery.objects.update_or_create(
        idempotency_key=key,
        defaults={
            "endpoint": endpoint,
            "event": event,
            "image": image,
            "payload": payload,
            "status": Delivery.Status.PENDING,
            "next_attempt_at": now,
            "give_up_at": now + timedelta(seconds=settings.FACESITE_DELIVERY_MAX_AGE),
            "last_error": "",
        },
    )
    _enqueue(delivery.pk)
    return delivery


def _enqueue(delivery_id: uuid.UUID, *, countdown: float = 0) -> None:
    enqueue_after_commit(task=SEND_DELIVERY, args=[str(delivery_id)], countdown=countdown)


# --- Sending --------------------------------------------------------------------------------


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
            _enqueue(delivery.pk, countdown=delay)
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


# --- Sweeper and replay -----------------------------------------------------------------------


@dataclass(frozen=True)
class DeliverySweepReport:
    queued: int
    reclaimed: int


def deliveries_sweep() -> DeliverySweepReport:
    """Queue due deliveries whose message was lost; take back deliveries whose sender died."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.FACESITE_PROCESSING_STALE_AFTER)
    reclaimed = 0
    for delivery in Delivery.objects.filter(status=Delivery.Status.DELIVERING, claimed_at__lt=stale):
        with transaction.atomic():
            if Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.DELIVERING, claimed_at__lt=stale).update(
                status=Delivery.Status.RETRYING,
                claimed_at=None,
                next_attempt_at=now,
                last_error="The worker sending this delivery was lost; sending again.",
                updated_at=now,
            ):
                DeliveryAttempt.objects.filter(delivery=delivery, finished_at__isnull=True).update(
                    finished_at=now, outcome="lost", error="The worker was lost during the request."
                )
                _enqueue(delivery.pk)
                reclaimed += 1
    # A due delivery whose message would have run by now (give it a minute) lost its message.
    overdue = now - timedelta(seconds=60)
    due = Delivery.objects.filter(
        status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING], next_attempt_at__lte=overdue
    ).values_list("pk", flat=True)
    queued = 0
    for pk in due.iterator():
        _enqueue(pk)
        queued += 1
    report = DeliverySweepReport(queued=queued, reclaimed=reclaimed)
    if queued or reclaimed:
        logger.warning("Delivery sweeper: %s", report)
    return report


def delivery_resend(*, delivery: Delivery) -> None:
    """Send one delivered or dead delivery again; ``Conflict`` while it is still pending or being sent."""
    if not deliveries_replay(deliveries=[delivery]):
        raise Conflict(
            f"Only delivered or dead deliveries can be resent; this one is {delivery.status}.", code="not_resendable"
        )


def deliveries_replay(*, deliveries: Iterable[Delivery]) -> int:
    """Send delivered or dead deliveries again, with the same idempotency key. Returns how many were queued."""
    now = timezone.now()
    count = 0
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
                _enqueue(delivery.pk)
                count += 1
    return count


# --- Endpoints ----------------------------------------------------------------------------------


class SecretChange(models.TextChoices):
    KEEP = "keep", "Keep the current secret"
    GENERATE = "generate", "Generate a new secret (shown once, after saving)"
    SET = "set", "Set the secret the receiver gave you"


def endpoint_save(
    *, endpoint: Endpoint, changed: Iterable[str], secret: SecretChange, given_secret: str = "", actor: Actor,
    client_ip: str | None = None,
) -> str | None:  # fmt: skip
    """Create or change an endpoint and record who did it. Returns the new secret when one was generated:
    the only time anyone sees it, since it is stored encrypted and never displayed."""
    created = endpoint._state.adding
    generated = None
    if secret == SecretChange.GENERATE:
        endpoint.secret = generated = new_secret()
    elif secret == SecretChange.SET:
        endpoint.secret = given_secret
    elif created:
        raise InvalidInput("A new endpoint needs a signing secret: generate one or set one.", field="secret")
    with transaction.atomic():
        endpoint.save()
        audit_record(
            actor=actor,
            action=AuditEvent.Action.ENDPOINT_CREATE if created else AuditEvent.Action.ENDPOINT_UPDATE,
            target=endpoint,
            client_ip=client_ip,
            fields=sorted(changed),
            secret_changed=secret != SecretChange.KEEP,
        )
    return generated
