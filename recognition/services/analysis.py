"""Analysing an image: claim it, run the engine, store the results, or release or fail it.

A row is claimed ``pending -> processing`` in one UPDATE with a fresh token, so a
redelivered message never analyses twice; results are stored only while that
claim still holds. ``sweeper`` takes back claims of dead workers.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import suppress
from functools import partial
from itertools import pairwise

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from recognition.audit import Actor, audit_record
from recognition.engine_handler import get_engine
from recognition.engines.base import Analysis, BaseEngine, EngineError, FaceDetail, UserMatch
from recognition.exceptions import FacesiteError, FileMissing
from recognition.fetch import FetchRefused, fetch_image_bytes
from recognition.models import AuditEvent, Collection, Face, Image, Label, ModerationLabel, TextDetection
from recognition.services import results as rows
from recognition.services.collections import people_of
from recognition.services.erasure import faces_delete
from recognition.services.files import s3_location, stored_file
from recognition.services.ingest import image_enqueue_analysis
from recognition.services.reindex import restoring
from recognition.services.stored import StoredResults
from recognition.services.watch import watch_alerts_record
from recognition.signals import image_analysed
from recognition.validation import ImageRejected, inspect_image

logger = logging.getLogger(__name__)


class AnalysisRetry(FacesiteError):
    """Analysis hit a passing failure (a throttled or unreachable engine, an unreachable URL or database); try
    again later. The message says what failed."""

    code = "analysis_retry"
    retryable = True


def image_analyse(*, image_id: uuid.UUID | str) -> Image | None:
    """Claim a pending image, run the engine on it and store the results.

    Returns the finished image, or None when the image was not pending (already
    claimed by another delivery of the same message, done, or deleted): a
    second run never happens. Raises ``AnalysisRetry`` after putting the image
    back to ``pending`` when the engine or the database failed in a way a retry can fix.
    """
    token = uuid.uuid4()
    try:
        return _analyse(image_id, token)
    except DatabaseError as exc:
        # The database went away (restarted, failed over, the connection cut): let go of the claim on a new
        # connection, if there is one yet (else the sweeper takes it back), and try again shortly.
        close_old_connections()
        reason = f"The database was unavailable: {exc}"
        with suppress(DatabaseError):
            _release(image_id, token, reason=reason)
        raise AnalysisRetry(reason) from exc


def _analyse(image_id: uuid.UUID | str, token: uuid.UUID) -> Image | None:
    now = timezone.now()
    claimed = Image.objects.filter(pk=image_id, status=Image.Status.PENDING).update(
        status=Image.Status.PROCESSING,
        claim_token=token,
        claimed_at=now,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if not claimed:
        logger.info("Image %s is not pending; skipping analysis.", image_id)
        return None

    image = Image.objects.select_related("collection").get(pk=image_id)
    if image.source == Image.Source.URL and not image.file:
        try:
            _fetch_into(image)
        except FetchRefused as exc:
            message = f"Could not fetch the image from {image.source_url}: {exc.message}"
            if exc.retryable:
                _release(image.pk, token, reason=message)
                raise AnalysisRetry(message) from exc
            logger.warning("Image %s: %s", image_id, message)
            _fail(image, token, message)
            return None
        image.refresh_from_db()
    engine = get_engine()
    try:
        results, matches = _run_engine(engine, image)
    except EngineError as exc:
        if exc.retryable:
            reason = f"The engine failed: {exc.message}"
            _release(image.pk, token, reason=reason)
            raise AnalysisRetry(reason) from exc
        logger.warning("Analysis of image %s failed: %s", image_id, exc.message)
        _fail(image, token, exc.message)
        return None
    except SoftTimeLimitExceeded:
        _fail(image, token, f"Analysis took longer than the {settings.CELERY_TASK_SOFT_TIME_LIMIT} s time limit.")
        return None
    except FileMissing as exc:
        _fail(image, token, exc.message)
        return None
    except DatabaseError:
        raise  # passing: image_analyse retries
    except Exception as exc:
        logger.exception("Analysis of image %s crashed", image_id)
        _fail(image, token, f"Internal error during analysis ({type(exc).__name__}: {exc}).")
        return None
    try:
        return _store_results(image, token, engine, results, matches)
    except DatabaseError:
        raise  # passing: image_analyse retries
    except Exception as exc:
        logger.exception("Storing the results of image %s failed", image_id)
        _fail(image, token, f"Internal error while storing results ({type(exc).__name__}: {exc}).")
        return None


def image_fail(*, image_id: uuid.UUID | str, error: str) -> None:
    """Mark an image failed whatever its claim (used when retries are exhausted)."""
    Image.objects.filter(pk=image_id).exclude(status=Image.Status.DONE).update(
        status=Image.Status.FAILED, claim_token=None, error=error, updated_at=timezone.now()
    )


def image_reanalyse(*, image: Image, actor: Actor = None, client_ip: str | None = None) -> bool:
    """Put a finished or failed image back in the queue. False if it is already queued or running."""
    with transaction.atomic():
        updated = Image.objects.filter(pk=image.pk, status__in=[Image.Status.DONE, Image.Status.FAILED]).update(
            status=Image.Status.PENDING, error="", updated_at=timezone.now()
        )
        if updated:
            audit_record(actor=actor, action=AuditEvent.Action.IMAGE_REANALYSE, target=image, client_ip=client_ip)
            image_enqueue_analysis(image=image)
    return bool(updated)


def _fetch_into(image: Image) -> None:
    """Download a URL image's bytes and store them as if uploaded."""
    data = fetch_image_bytes(image.source_url)
    try:
        info = inspect_image(data)
    except ImageRejected as exc:
        raise FetchRefused(f"The URL did not give an acceptable image: {exc.message}") from exc
    with stored_file(image=image, data=data, extension=info.extension), transaction.atomic():
        Image.objects.filter(pk=image.pk).update(
            file=image.file.name,
            sha256=info.sha256,
            size_bytes=info.size_bytes,
            width=info.width,
            height=info.height,
            content_type=info.content_type,
        )


def faces_identify(
    *, collection: Collection, engine: BaseEngine, data: bytes, faces: list[FaceDetail]
) -> list[UserMatch | None]:
    """Each face's most similar enrolled person in ``collection``, from its review threshold on (None below
    it, or when no one is enrolled there: then the engine is not asked at all)."""
    matches: list[UserMatch | None] = [None] * len(faces)
    if faces and Face.objects.references().filter(collection=collection).exists():
        for i, face in enumerate(faces):
            found = restoring(
                collection=collection,
                engine=engine,
                call=partial(
                    engine.search_users, collection.name, data, face, threshold=collection.review_threshold,
                    max_users=1,
                ),
            )  # fmt: skip
            matches[i] = found[0] if found else None
    return matches


def _run_engine(engine: BaseEngine, image: Image) -> tuple[Analysis, list[UserMatch | None]]:
    clock = [time.perf_counter()]
    data = image.read_bytes()
    clock.append(time.perf_counter())
    analysis = engine.analyse(
        data,
        features=image.features,
        min_label_confidence=settings.FACESITE_LABEL_MIN_CONFIDENCE,
        min_moderation_confidence=settings.FACESITE_MODERATION_MIN_CONFIDENCE,
        location=s3_location(image=image),
    )
    clock.append(time.perf_counter())
    matches = faces_identify(collection=image.collection, engine=engine, data=data, faces=analysis.faces)
    clock.append(time.perf_counter())
    read, analysed, identified = (_ms(a, b) for a, b in pairwise(clock))
    analysis.timings = {"read": read, "engine": analysed, "identify": identified} | {
        f"engine.{name}": ms for name, ms in analysis.timings.items()
    }
    return analysis, matches


def _store_results(
    image: Image, token: uuid.UUID, engine: BaseEngine, results: Analysis, matches: list[UserMatch | None]
) -> Image | None:
    started = time.perf_counter()
    candidates = people_of(matches)
    now = timezone.now()
    done = {
        "status": Image.Status.DONE,
        "error": "",
        "claim_token": None,
        "engine": engine.name,
        "model_version": engine.model_version,
        "properties": results.properties.as_dict() if results.properties else None,
        "analysed_at": now,
        "updated_at": now,
    }
    with transaction.atomic():
        # One statement checks the claim, locks the row until commit and marks the image done; the rows
        # below commit with it, or nothing does.
        claimed = Image.objects.filter(pk=image.pk, status=Image.Status.PROCESSING, claim_token=token)
        if not claimed.update(**done):
            # The claim went stale and the sweeper handed the image to someone else.
            logger.warning("Image %s was reclaimed while being analysed; discarding these results.", image.pk)
            return None
        decisions, references = _replace_earlier_results(image) if image.analysed_at else ([], [])  # else none
        for field, value in done.items():
            setattr(image, field, value)
        labels = Label.objects.bulk_create(rows.label_row(image=image, label=label) for label in results.labels)
        faces = Face.objects.bulk_create(
            rows.keep_decision(
                row=rows.face_row(
                    image=image,
                    face=face,
                    engine=engine.name,
                    model_version=engine.model_version,
                    candidate=candidates.get(match.user_id) if match else None,
                    similarity=match.similarity if match else None,
                    match_threshold=image.collection.identify_threshold,
                ),
                decisions=decisions,
            )
            for face, match in zip(results.faces, matches, strict=True)
        )
        text = TextDetection.objects.bulk_create(rows.text_row(image=image, text=text) for text in results.text)
        moderation = ModerationLabel.objects.bulk_create(
            rows.moderation_row(image=image, label=label) for label in results.moderation
        )
        watch_alerts_record(image=image, faces=faces)
        stored = StoredResults.of(labels=labels, faces=[*references, *faces], text=text, moderation=moderation)
        announcing = time.perf_counter()
        image_analysed.send(sender=Image, image=image, results=stored)
        announced = time.perf_counter()
    committed = time.perf_counter()
    # The store's share of a task, and within it what the listeners did (the event document and its
    # deliveries, in integrations) and the commit with what runs once it is made (queuing those deliveries).
    timings = results.timings | {
        "store": _ms(started, committed),
        "store.announce": _ms(announcing, announced),
        "store.commit": _ms(announced, committed),
    }
    logger.info(
        "Image %s analysed: %d labels, %d faces, %d identified; ms: %s",
        image.pk,
        len(results.labels),
        len(results.faces),
        sum(1 for m in matches if m and m.similarity >= image.collection.identify_threshold),
        " ".join(f"{stage}={ms:g}" for stage, ms in timings.items()),
    )
    return image


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000, 1)


def _replace_earlier_results(image: Image) -> tuple[list[Face], list[Face]]:
    """Delete what an earlier analysis of ``image`` stored. Returns the review decisions on its faces, which
    the new faces keep where they are the same faces, and the reference faces enrolled from it, which stay."""
    replaced = image.faces.sightings()
    decided = replaced.filter(review_state__in=[Face.Review.CONFIRMED, Face.Review.REJECTED])
    decisions = list(decided.select_related("person"))
    faces_delete(faces=replaced)
    image.labels.all().delete()
    image.text_detections.all().delete()
    image.moderation_labels.all().delete()
    return decisions, list(image.faces.references().select_related("person"))


def _release(image_id: uuid.UUID | str, token: uuid.UUID, *, reason: str) -> None:
    """Give the image back to the queue, if this claim still holds it, saying why it waits."""
    Image.objects.filter(pk=image_id, claim_token=token).update(
        status=Image.Status.PENDING, claim_token=None, error=f"Will try again: {reason}", updated_at=timezone.now()
    )


def _fail(image: Image, token: uuid.UUID, error: str) -> None:
    Image.objects.filter(pk=image.pk, claim_token=token).update(
        status=Image.Status.FAILED, claim_token=None, error=error, updated_at=timezone.now()
    )
