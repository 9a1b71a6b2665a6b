"""The transactional outbox: deliveries are written in the transaction that produced what they report."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from functools import cache
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integrations import xml
from integrations.models import Delivery, DeliveryAttempt, Endpoint, Event
from recognition.models import Image, Verification
from recognition.services.queue import enqueue_after_commit
from recognition.services.stored import StoredResults
from videos.models import Video

T = TypeVar("T")
KEY_NAMESPACE = uuid.UUID("6f1d2b9e-4a53-4c1e-9a3e-0f4f7c9d2a10")
SEND_DELIVERY = "integrations.tasks.send_delivery"


def idempotency_key(*, event: str, subject_id: str, endpoint_id: int) -> str:
    """Stable for one subject (image, verification), endpoint and event: retries and replays reuse it."""
    return str(uuid.uuid5(KEY_NAMESPACE, f"{event}:{subject_id}:{endpoint_id}"))


def deliveries_for_image(*, image: Image, results: StoredResults | None = None) -> list[Delivery]:
    """Write one delivery per matching endpoint and event; call inside the transaction that marks the image done.

    The rows commit or roll back with the results, and their sending is queued
    only after commit. A re-analysed image updates its existing deliveries
    (same idempotency keys) with the new document and sends them again.
    ``results`` are what the image holds (from the analysis that wrote them);
    without them they are read once, if any endpoint is to be told.
    """
    stored = cache(lambda: results or StoredResults.read(image))

    @cache
    def watched() -> bool:  # asked only if an endpoint wants person.watched
        # Alerts raised by this analysis (the watch list records them just before, in the same transaction).
        return image.watch_alerts.filter(created_at__gte=image.analysed_at).exists()

    wanted = [
        (endpoint, event)
        for endpoint in _subscribed(collection_id=image.collection_id, identified=lambda: stored().identified)
        for event in endpoint.events
        if event == Event.IMAGE_ANALYSED
        or (event == Event.PERSON_IDENTIFIED and stored().identified)
        or (event == Event.PERSON_WATCHED and watched())
    ]
    created = []
    for endpoint, event in wanted:
        key = idempotency_key(event=event, subject_id=str(image.pk), endpoint_id=endpoint.pk)
        payload = xml.image_event(image, stored(), event=event, key=key).decode()
        created.append(_outbox(endpoint=endpoint, event=event, key=key, payload=payload, image=image))
    return created


def _subscribed(*, collection_id: int | None, identified: Callable[[], bool]) -> list[Endpoint]:
    """The enabled endpoints that hear of a subject of this collection: the collection's own and those of every
    collection, less those that want only identified people when ``identified()`` is false."""
    endpoints = Endpoint.objects.filter(Q(collection__isnull=True) | Q(collection_id=collection_id), enabled=True)
    return [endpoint for endpoint in endpoints if not endpoint.only_identified or identified()]


def deliveries_for_video(*, video: Video) -> list[Delivery]:
    """Write ``video.analysed`` deliveries; call inside the transaction that marks the video done."""
    created = []
    identified = cache(video.sightings.filter(person__isnull=False).exists)
    for endpoint in _subscribed(collection_id=video.collection_id, identified=identified):
        if Event.VIDEO_ANALYSED not in endpoint.events:
            continue
        key = idempotency_key(event=Event.VIDEO_ANALYSED, subject_id=str(video.pk), endpoint_id=endpoint.pk)
        payload = xml.video_event(video, key=key).decode()
        created.append(_outbox(endpoint=endpoint, event=Event.VIDEO_ANALYSED, key=key, payload=payload, video=video))
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
    database holds now (after an erasure), so that neither a retry nor a resend carries what was erased, and
    forget what receivers answered about them (an answer may echo a name back). Keys stay the same:
    receivers see a newer version of the same event. Returns how many were rebuilt."""
    rebuilt = 0
    image_ids = list(image_ids)
    results: dict[uuid.UUID, StoredResults] = {}  # read once for all of an image's deliveries
    for delivery in Delivery.objects.filter(image_id__in=image_ids).select_related("image__collection"):
        image = delivery.image
        assert image is not None
        if image.pk not in results:
            results[image.pk] = StoredResults.read(image)
        delivery.payload = xml.image_event(
            image, results[image.pk], event=delivery.event, key=delivery.idempotency_key
        ).decode()
        _save_redacted(delivery)
        rebuilt += 1
    videos = Delivery.objects.filter(video__sightings__frame_id__in=image_ids).distinct().select_related("video")
    for delivery in videos:
        assert delivery.video is not None
        delivery.payload = xml.video_event(delivery.video, key=delivery.idempotency_key).decode()
        _save_redacted(delivery)
        rebuilt += 1
    by_key = _verification_keys(Verification.objects.in_bulk(list(verification_ids)))
    for delivery in Delivery.objects.filter(idempotency_key__in=list(by_key)):
        delivery.payload = _verification_document(by_key[delivery.idempotency_key], delivery.idempotency_key)
        _save_redacted(delivery)
        rebuilt += 1
    return rebuilt


def deliveries_forget(*, verification_ids: Iterable[uuid.UUID]) -> int:
    """Delete the deliveries, sent or not, about these checks (which are being purged); how many."""
    keys = _verification_keys(dict.fromkeys(verification_ids))
    return Delivery.objects.filter(idempotency_key__in=list(keys)).delete()[1].get("integrations.Delivery", 0)


def _verification_keys(checks: Mapping[Any, T]) -> dict[str, T]:
    """Each verification.result idempotency key, for every endpoint, of these checks (by primary key)."""
    endpoints = list(Endpoint.objects.values_list("pk", flat=True))
    return {
        idempotency_key(event=Event.VERIFICATION_RESULT, subject_id=str(pk), endpoint_id=endpoint): check
        for pk, check in checks.items()
        for endpoint in endpoints
    }


def _save_redacted(delivery: Delivery) -> None:
    delivery.last_response_excerpt = ""
    delivery.save(update_fields=["payload", "last_response_excerpt", "updated_at"])
    DeliveryAttempt.objects.filter(delivery=delivery).update(response_excerpt="")


def _verification_document(verification: Verification, key: str) -> str:
    return xml.verification_event(verification, key=key).decode()


def _outbox(
    *, endpoint: Endpoint, event: str, key: str, payload: str, image: Image | None = None, video: Video | None = None
) -> Delivery:
    """Write the delivery of ``key`` (new, or an earlier one brought up to date) and queue its sending after
    commit. Its row is read locked, so a sender's claim waits for this transaction and then sends this
    document: two statements a delivery."""
    now = timezone.now()
    try:
        delivery: Delivery | None = Delivery.objects.select_for_update().get(idempotency_key=key)
    except Delivery.DoesNotExist:
        delivery = None
    if delivery is not None and delivery.status == Delivery.Status.DELIVERING:
        # Being sent right now: the sender sends this newer document once its attempt ends, never alongside it.
        _update(delivery, payload=payload, document_changed=True, updated_at=now)
        return delivery
    due = {
        "payload": payload,
        "status": Delivery.Status.PENDING,
        "next_attempt_at": now,
        "give_up_at": now + timedelta(seconds=settings.FACESITE_DELIVERY_MAX_AGE),
        "last_error": "",
        "document_changed": False,
    }
    if delivery is None:
        delivery = Delivery.objects.create(
            idempotency_key=key, endpoint=endpoint, event=event, image=image, video=video, **due
        )
    else:
        _update(delivery, **due, updated_at=now)
    enqueue(delivery.pk)
    return delivery


def _update(delivery: Delivery, **fields: Any) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(**fields)
    for field, value in fields.items():
        setattr(delivery, field, value)


def enqueue(delivery_id: uuid.UUID, *, countdown: float = 0) -> None:
    enqueue_after_commit(task=SEND_DELIVERY, args=[str(delivery_id)], countdown=countdown)
