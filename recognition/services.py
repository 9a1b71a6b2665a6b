"""Recognition services: what API views, admin actions, commands and tasks call.

Views and tasks stay thin; logic that touches several models lives here.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from recognition import thumbnails
from recognition.audit import audit_record, authenticated_user
from recognition.engine_handler import get_engine
from recognition.engines import base as engine_types
from recognition.engines.base import FEATURES, Analysis, BaseEngine, EngineError, FaceMatch
from recognition.fetch import FetchRefused, check_url, fetch_image_bytes
from recognition.models import Collection, Face, Image, Label, ModerationLabel, Person, TextDetection, Verification
from recognition.signals import image_analysed, verification_done
from recognition.validation import ImageInfo, ImageRejected, inspect_image

logger = logging.getLogger(__name__)


class AnalysisRetry(Exception):
    """Analysis hit a passing failure (a throttled or unreachable engine); try again later."""


# --- Ingest -------------------------------------------------------------------------


def image_ingest(
    *,
    data: bytes,
    source: str = Image.Source.UPLOAD,
    filename: str = "",
    uploaded_by: AbstractBaseUser | None = None,
    features: list[str] | None = None,
    collection: Collection | None = None,
    source_url: str = "",
) -> Image:
    """Validate and store an image, commit its row as ``pending`` and queue its analysis.

    Raises ``ImageRejected`` (nothing stored) when the bytes are not an acceptable image.
    """
    info = inspect_image(data)
    image = _new_image(
        info,
        original_filename=filename[:255],
        source=source,
        source_url=source_url,
        collection=collection or Collection.get_default(),
        features=_clean_features(features),
        uploaded_by=uploaded_by,
    )
    with _stored_file(image, data, info.extension), transaction.atomic():
        image.save()
        image_enqueue_analysis(image)
    return image


def image_find_duplicate(*, data: bytes, collection: Collection | None = None) -> Image | None:
    """The earliest image with exactly these bytes in the collection (enrolment photos aside), if any."""
    return (
        Image.objects.filter(sha256=hashlib.sha256(data).hexdigest(), collection=collection or Collection.get_default())
        .exclude(source=Image.Source.ENROLMENT)
        .order_by("created_at")
        .first()
    )


def image_ingest_url(
    *,
    url: str,
    uploaded_by: AbstractBaseUser | None = None,
    features: list[str] | None = None,
    collection: Collection | None = None,
) -> Image:
    """Commit a pending image whose bytes the worker fetches from ``url`` (with SSRF checks) before analysis."""
    try:
        check_url(url)
    except FetchRefused as exc:
        raise ImageRejected(exc.message, code="url_refused") from exc
    image = Image(
        source=Image.Source.URL,
        source_url=url,
        original_filename=urlsplit(url).path.rsplit("/", 1)[-1][:255],
        collection=collection or Collection.get_default(),
        features=_clean_features(features),
        uploaded_by=authenticated_user(uploaded_by),
    )
    with transaction.atomic():
        image.save()
        image_enqueue_analysis(image)
    return image


def _fetch_into(image: Image) -> None:
    """Download a URL image's bytes and store them as if uploaded."""
    data = fetch_image_bytes(image.source_url)
    try:
        info = inspect_image(data)
    except ImageRejected as exc:
        raise FetchRefused(f"The URL did not give an acceptable image: {exc.message}") from exc
    with _stored_file(image, data, info.extension), transaction.atomic():
        Image.objects.filter(pk=image.pk).update(
            file=image.file.name,
            sha256=info.sha256,
            size_bytes=info.size_bytes,
            width=info.width,
            height=info.height,
            content_type=info.content_type,
        )


def image_enqueue_analysis(image: Image) -> None:
    """Queue analysis once the current transaction commits (at once outside one)."""
    from recognition.tasks import analyse_image

    image_id = str(image.pk)
    transaction.on_commit(lambda: analyse_image.delay(image_id))


def _clean_features(features: list[str] | None) -> list[str]:
    if not features:
        return list(settings.FACESITE_DEFAULT_FEATURES)
    unknown = sorted(set(features) - set(FEATURES))
    if unknown:
        raise ImageRejected(
            f"Unknown feature(s): {', '.join(unknown)}; choose from {', '.join(FEATURES)}.", code="invalid_features"
        )
    return [f for f in FEATURES if f in features]


def _new_image(info: ImageInfo, *, uploaded_by: AbstractBaseUser | None, **fields) -> Image:
    return Image(
        sha256=info.sha256,
        size_bytes=info.size_bytes,
        width=info.width,
        height=info.height,
        content_type=info.content_type,
        uploaded_by=authenticated_user(uploaded_by),
        **fields,
    )


@contextmanager
def _stored_file(image: Image, data: bytes, extension: str):
    """Save the bytes for ``image``; delete them again if the block fails, so no file outlives its row."""
    name = default_storage.save(f"images/{timezone.now():%Y/%m}/{image.pk}.{extension}", ContentFile(data))
    image.file.name = name
    try:
        yield
    except BaseException:
        default_storage.delete(name)
        raise


# --- Analysis -------------------------------------------------------------------------


def image_analyse(*, image_id: str) -> Image | None:
    """Claim a pending image, run the engine on it and store the results.

    Returns the finished image, or None when the image was not pending (already
    claimed by another delivery of the same message, done, or deleted): a
    second run never happens. Raises ``AnalysisRetry`` after putting the image
    back to ``pending`` when the engine failed in a way a retry can fix.
    """
    token = uuid.uuid4()
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
                _release(image, token, error=message)
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
            _release(image, token, error=f"Temporary engine failure, will retry: {exc.message}")
            raise AnalysisRetry(exc.message) from exc
        logger.warning("Analysis of image %s failed: %s", image_id, exc.message)
        _fail(image, token, exc.message)
        return None
    except SoftTimeLimitExceeded:
        _fail(image, token, f"Analysis took longer than the {settings.CELERY_TASK_SOFT_TIME_LIMIT} s time limit.")
        return None
    except FileNotFoundError:
        _fail(image, token, "The stored image file is missing.")
        return None
    except Exception as exc:
        logger.exception("Analysis of image %s crashed", image_id)
        _fail(image, token, f"Internal error during analysis ({type(exc).__name__}: {exc}).")
        return None
    try:
        return _store_results(image, token, engine, results, matches)
    except DatabaseError as exc:
        logger.exception("Storing the results of image %s failed", image_id)
        _release(image, token, error=f"Temporary database failure, will retry: {exc}")
        raise AnalysisRetry(str(exc)) from exc
    except Exception as exc:
        logger.exception("Storing the results of image %s failed", image_id)
        _fail(image, token, f"Internal error while storing results ({type(exc).__name__}: {exc}).")
        return None


def _run_engine(engine: BaseEngine, image: Image) -> tuple[Analysis, list[FaceMatch | None]]:
    data = image.read_bytes()
    analysis = engine.analyse(
        data,
        features=image.features,
        min_label_confidence=settings.FACESITE_LABEL_MIN_CONFIDENCE,
        min_moderation_confidence=settings.FACESITE_MODERATION_MIN_CONFIDENCE,
    )
    matches: list[FaceMatch | None] = [None] * len(analysis.faces)
    if analysis.faces and Face.objects.filter(collection=image.collection, is_reference=True).exists():
        for i, face in enumerate(analysis.faces):
            found = engine.search_face(
                image.collection.name, data, face, threshold=settings.FACESITE_REVIEW_THRESHOLD, max_matches=1
            )
            matches[i] = found[0] if found else None
    return analysis, matches


def _store_results(
    image: Image, token: uuid.UUID, engine: BaseEngine, results: Analysis, matches: list[FaceMatch | None]
) -> Image | None:
    candidates = _candidates_by_face_id(image.collection, matches)
    with transaction.atomic():
        locked = Image.objects.select_for_update().filter(
            pk=image.pk, status=Image.Status.PROCESSING, claim_token=token
        )
        if not locked.exists():
            # The claim went stale and the sweeper handed the image to someone else.
            logger.warning("Image %s was reclaimed while being analysed; discarding these results.", image.pk)
            return None
        decisions = list(
            image.faces.filter(is_reference=False, review_state__in=[Face.Review.CONFIRMED, Face.Review.REJECTED])
        )
        replaced = image.faces.filter(is_reference=False)
        _delete_files_after_commit(thumbnails.cached_names(face_ids=list(replaced.values_list("pk", flat=True))))
        replaced.delete()
        image.labels.all().delete()
        image.text_detections.all().delete()
        image.moderation_labels.all().delete()
        Label.objects.bulk_create(_label_row(image, label) for label in results.labels)
        Face.objects.bulk_create(
            _keep_decision(_face_row(image, engine, face, match, candidates), decisions)
            for face, match in zip(results.faces, matches, strict=True)
        )
        TextDetection.objects.bulk_create(_text_row(image, text) for text in results.text)
        ModerationLabel.objects.bulk_create(
            ModerationLabel(image=image, name=m.name, parent_name=m.parent_name, confidence=m.confidence)
            for m in results.moderation
        )
        now = timezone.now()
        locked.update(
            status=Image.Status.DONE,
            error="",
            claim_token=None,
            engine=engine.name,
            model_version=engine.model_version,
            analysed_at=now,
            updated_at=now,
        )
        image.refresh_from_db()
        image_analysed.send(sender=Image, image=image)
    logger.info(
        "Image %s analysed: %d labels, %d faces, %d identified.",
        image.pk,
        len(results.labels),
        len(results.faces),
        sum(1 for m in matches if m and m.similarity >= settings.FACESITE_MATCH_THRESHOLD),
    )
    return image


def _candidates_by_face_id(collection: Collection, matches: list) -> dict[str, uuid.UUID]:
    face_ids = {m.face_id for m in matches if m is not None}
    if not face_ids:
        return {}
    rows = Face.objects.filter(
        collection=collection, is_reference=True, engine_face_id__in=face_ids, person__isnull=False
    ).values_list("engine_face_id", "person_id")
    return dict(rows)


def _face_row(image, engine, face: engine_types.FaceDetail, match, candidates) -> Face:
    box = face.bounding_box
    row = Face(
        image=image,
        left=box.left,
        top=box.top,
        width=box.width,
        height=box.height,
        confidence=face.confidence,
        landmarks=[{"Type": lm.type, "X": lm.x, "Y": lm.y} for lm in face.landmarks],
        pose=face.pose,
        quality=face.quality,
        attributes=face.attributes,
        engine=engine.name,
        model_version=engine.model_version,
    )
    row.set_embedding(face.embedding)
    candidate = candidates.get(match.face_id) if match else None
    if candidate:
        row.candidate_id = candidate
        row.similarity = match.similarity
        if match.similarity >= settings.FACESITE_MATCH_THRESHOLD:
            row.person_id = candidate
        else:
            row.review_state = Face.Review.NEEDS_REVIEW
    return row


def _keep_decision(row: Face, decisions: list[Face]) -> Face:
    """A reviewer's decision about a face survives re-analysis: the same face (boxes overlapping
    by half or more) keeps a confirmed person, and a rejected person is not assigned again."""
    overlap, best = max(((_overlap(d, row), d) for d in decisions), key=lambda pair: pair[0], default=(0.0, None))
    if overlap < 0.5:
        return row
    if best.review_state == Face.Review.CONFIRMED:
        row.person_id = best.person_id
    elif row.person_id is not None and row.person_id == best.candidate_id:
        row.person_id = None
    row.review_state = best.review_state
    row.reviewed_by_id, row.reviewed_at = best.reviewed_by_id, best.reviewed_at
    return row


def _overlap(a: Face, b: Face) -> float:
    """Intersection over union of two faces' boxes."""
    width = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    height = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / (a.width * a.height + b.width * b.height - inter)


def _label_row(image, label: engine_types.Label) -> Label:
    return Label(
        image=image,
        name=label.name,
        confidence=label.confidence,
        parents=list(label.parents),
        categories=list(label.categories),
        instances=[{"BoundingBox": _box(i.bounding_box), "Confidence": i.confidence} for i in label.instances],
    )


def _text_row(image, text: engine_types.TextDetection) -> TextDetection:
    return TextDetection(
        image=image,
        text=text.text,
        type=text.type,
        confidence=text.confidence,
        detection_id=text.id,
        parent_id=text.parent_id,
        geometry={
            "BoundingBox": _box(text.bounding_box),
            "Polygon": [{"X": x, "Y": y} for x, y in text.polygon],
        },
    )


def _box(box: engine_types.BoundingBox) -> dict[str, float]:
    return {"Left": box.left, "Top": box.top, "Width": box.width, "Height": box.height}


def _release(image: Image, token: uuid.UUID, *, error: str) -> None:
    Image.objects.filter(pk=image.pk, claim_token=token).update(
        status=Image.Status.PENDING, claim_token=None, error=error, updated_at=timezone.now()
    )


def _fail(image: Image, token: uuid.UUID | None, error: str) -> None:
    rows = Image.objects.filter(pk=image.pk)
    if token is not None:
        rows = rows.filter(claim_token=token)
    rows.update(status=Image.Status.FAILED, claim_token=None, error=error, updated_at=timezone.now())


def image_fail(*, image_id: str, error: str) -> None:
    """Mark an image failed whatever its claim (used when retries are exhausted)."""
    Image.objects.filter(pk=image_id).exclude(status=Image.Status.DONE).update(
        status=Image.Status.FAILED, claim_token=None, error=error, updated_at=timezone.now()
    )


def image_reanalyse(*, image: Image) -> bool:
    """Put a finished or failed image back in the queue. False if it is already queued or running."""
    with transaction.atomic():
        updated = Image.objects.filter(pk=image.pk, status__in=[Image.Status.DONE, Image.Status.FAILED]).update(
            status=Image.Status.PENDING, error="", updated_at=timezone.now()
        )
        if updated:
            image_enqueue_analysis(image)
    return bool(updated)


# --- Sweeper --------------------------------------------------------------------------


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

    reclaimed = []
    for pk in Image.objects.filter(status=Image.Status.PROCESSING, claimed_at__lt=stale).values_list("pk", flat=True):
        with transaction.atomic():
            if Image.objects.filter(pk=pk, status=Image.Status.PROCESSING, claimed_at__lt=stale).update(
                status=Image.Status.PENDING, claim_token=None, updated_at=now
            ):
                reclaimed.append(pk)
                image_enqueue_analysis(Image(pk=pk))

    requeued = 0
    for pk in Image.objects.filter(status=Image.Status.PENDING, updated_at__lt=waiting).values_list("pk", flat=True):
        with transaction.atomic():
            if Image.objects.filter(pk=pk, status=Image.Status.PENDING, updated_at__lt=waiting).update(updated_at=now):
                requeued += 1
                image_enqueue_analysis(Image(pk=pk))

    report = SweepReport(requeued_pending=requeued, reclaimed_processing=len(reclaimed), gave_up=gave_up)
    if requeued or reclaimed or gave_up:
        logger.warning("Sweeper: %s", report)
    return report


# --- Enrolment ------------------------------------------------------------------------


class EnrolmentError(Exception):
    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def person_enroll(
    *,
    person: Person,
    data: bytes,
    collection: Collection | None = None,
    uploaded_by: AbstractBaseUser | None = None,
    filename: str = "",
) -> Face:
    """Add a reference photo of ``person``: exactly one face, indexed into the collection."""
    info = inspect_image(data)
    collection = collection or Collection.get_default()
    engine = get_engine()
    engine.create_collection(collection.name)
    faces = engine.detect_faces(data, attributes=False)
    if not faces:
        raise EnrolmentError("No face was found in the photo.", code="no_face")
    if len(faces) > 1:
        raise EnrolmentError(
            f"{len(faces)} faces were found; a reference photo must show exactly one person.", code="several_faces"
        )
    _check_reference_quality(faces[0], info)
    indexed = engine.index_faces(collection.name, data, external_image_id=str(person.pk), max_faces=1)
    if not indexed:
        raise EnrolmentError("The engine could not index the face.", code="not_indexed")
    image = _new_image(
        info,
        original_filename=filename[:255],
        source=Image.Source.ENROLMENT,
        collection=collection,
        features=["faces"],
        status=Image.Status.DONE,
        engine=engine.name,
        model_version=engine.model_version,
        analysed_at=timezone.now(),
        uploaded_by=uploaded_by,
    )
    try:
        with _stored_file(image, data, info.extension), transaction.atomic():
            image.save()
            row = _face_row(image, engine, indexed[0].face, None, {})
            row.is_reference = True
            row.collection = collection
            row.engine_face_id = indexed[0].face_id
            row.person = person
            row.save()
            collection.bump_version()
    except BaseException:
        engine.delete_faces(collection.name, [indexed[0].face_id])
        raise
    return row


def _check_reference_quality(face: engine_types.FaceDetail, info: ImageInfo) -> None:
    side = min(face.bounding_box.width * info.width, face.bounding_box.height * info.height)
    minimum = settings.FACESITE_ENROL_MIN_FACE_PIXELS
    if side < minimum:
        raise EnrolmentError(
            f"The face is too small ({side:.0f} px); a reference face needs at least {minimum} px. "
            "Use a closer or larger photo.",
            code="face_too_small",
        )
    sharpness = face.quality.get("Sharpness")
    if sharpness is not None and sharpness < settings.FACESITE_ENROL_MIN_SHARPNESS:
        raise EnrolmentError(
            f"The face is too blurry (sharpness {sharpness:.0f}, at least "
            f"{settings.FACESITE_ENROL_MIN_SHARPNESS:.0f} needed). Use a sharper photo.",
            code="face_too_blurry",
        )


# --- Removal and erasure -------------------------------------------------------------------


def reference_face_remove(*, face: Face, actor=None, client_ip: str | None = None) -> None:
    """Remove an enrolled face: from the engine's collection, the database and storage."""
    image = face.image
    with transaction.atomic():
        audit_record(actor=actor, action="face.delete", target=face, client_ip=client_ip, person=str(face.person_id))
        _delete_files_after_commit(thumbnails.cached_names(face_ids=[face.pk]))
        face.delete()
        if image.source == Image.Source.ENROLMENT and not image.faces.exists():
            _delete_image_row(image)
        _bump_collections([face])
    _delete_from_engine([face])


def image_delete(*, image: Image, actor=None, client_ip: str | None = None) -> None:
    """Delete an image, its results and its file; reference faces in it leave their collections."""
    references = list(image.faces.filter(is_reference=True).select_related("collection"))
    with transaction.atomic():
        audit_record(actor=actor, action="image.delete", target=image, client_ip=client_ip)
        _delete_image_row(image)
        _bump_collections(references)
    _delete_from_engine(references)


def _bump_collections(references: list[Face]) -> None:
    """Tell the collections of these reference faces that they changed, so search indexes refresh."""
    for collection in {face.collection for face in references if face.collection}:
        collection.bump_version()


def _delete_from_engine(references: list[Face]) -> None:
    """Remove deleted reference faces from their engine collections (after the rows are gone)."""
    engine = get_engine()
    for face in references:
        if face.collection and face.engine_face_id:
            engine.delete_faces(face.collection.name, [face.engine_face_id])


def _delete_image_row(image: Image) -> None:
    names = thumbnails.cached_names(image_ids=[image.pk], face_ids=list(image.faces.values_list("pk", flat=True)))
    if image.file.name:
        names.append(image.file.name)
    image.delete()
    _delete_files_after_commit(names)


def _delete_files_after_commit(names: list[str]) -> None:
    """Remove stored files once the rows that name them are gone for good (not if the transaction rolls back)."""

    def delete():
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete)


@dataclass(frozen=True)
class ErasureReport:
    reference_faces: int
    matched_faces: int
    images: int
    sole_subject_images: int = 0


def sole_subject_images(person: Person):
    """Analysed images in which every face found is this person (candidates for erasure too)."""
    others = Face.objects.filter(is_reference=False).exclude(person=person).values("image_id")
    return (
        Image.objects.exclude(source=Image.Source.ENROLMENT)
        .filter(faces__person=person, faces__is_reference=False)
        .exclude(pk__in=others)
        .distinct()
    )


@dataclass(frozen=True)
class _ErasurePlan:
    references: list[Face]
    matched: list[Face]
    photos: set[Image]  # enrolment photos; a reference made from a sighting leaves its image alone
    sole_subject: set[Image]

    @property
    def report(self) -> ErasureReport:
        return ErasureReport(
            reference_faces=len(self.references),
            matched_faces=len(self.matched),
            images=len(self.photos),
            sole_subject_images=len(self.sole_subject),
        )


def _erasure_plan(person: Person) -> _ErasurePlan:
    faces = list(Face.objects.filter(person=person).select_related("collection", "image"))
    references = [f for f in faces if f.is_reference]
    sole = set(sole_subject_images(person)) if settings.FACESITE_ERASE_SOLE_SUBJECT_IMAGES else set()
    return _ErasurePlan(
        references=references,
        matched=[f for f in faces if not f.is_reference],
        photos={f.image for f in references if f.image.source == Image.Source.ENROLMENT},
        sole_subject=sole,
    )


def person_erasure_report(*, person: Person) -> ErasureReport:
    """What ``person_erase`` would remove, for a confirmation page."""
    return _erasure_plan(person).report


def person_erase(*, person: Person, actor=None, client_ip: str | None = None) -> ErasureReport:
    """Delete a person and every biometric trace of them: reference faces (wherever they were
    enrolled from) and their photos, faces matched to them in other images, and their entries in
    engine collections; with ``FACESITE_ERASE_SOLE_SUBJECT_IMAGES``, also the images in which they
    are the only face. Verification records keep the badge and outcome but lose the link to the person."""
    with transaction.atomic():
        plan = _erasure_plan(person)
        report = plan.report
        audit_record(
            actor=actor,
            action="person.erase",
            target=person,
            client_ip=client_ip,
            name=person.name,
            external_id=person.external_id,
            **report.__dict__,
        )
        faces = plan.references + plan.matched
        _delete_files_after_commit(thumbnails.cached_names(face_ids=[f.pk for f in faces]))
        # Explicitly: the foreign key only nulls the person, which would leave their embeddings behind.
        Face.objects.filter(pk__in=[f.pk for f in faces]).delete()
        Face.objects.filter(candidate=person).update(candidate=None, similarity=None, review_state=Face.Review.NONE)
        for image in plan.photos | plan.sole_subject:
            _delete_image_row(image)
        _bump_collections(plan.references)
        person.delete()
    _delete_from_engine(plan.references)
    return report


# --- Synchronous checks ----------------------------------------------------------------------


@dataclass(frozen=True)
class FaceSearchResult:
    face: engine_types.FaceDetail
    matches: list[tuple[Person, float]]


def faces_search(
    *, data: bytes, collection: Collection, threshold: float, max_matches: int, actor=None, client_ip=None
) -> list[FaceSearchResult]:
    """Every face in the image with the enrolled people it matches, best first."""
    inspect_image(data)
    engine = get_engine()
    faces = engine.detect_faces(data, attributes=False)
    results = []
    for face in faces:
        found = engine.search_face(collection.name, data, face, threshold=threshold, max_matches=max_matches * 4)
        results.append(FaceSearchResult(face=face, matches=_people_for(collection, found, max_matches)))
    audit_record(
        actor=actor,
        action="faces.search",
        client_ip=client_ip,
        collection=collection.name,
        faces=len(results),
        matched=[str(p.pk) for r in results for p, _ in r.matches],
    )
    return results


def _people_for(
    collection: Collection, matches: list[engine_types.FaceMatch], limit: int
) -> list[tuple[Person, float]]:
    """Best similarity per person (a person may have several reference faces)."""
    owners = dict(
        Face.objects.filter(
            collection=collection, is_reference=True, engine_face_id__in=[m.face_id for m in matches]
        ).values_list("engine_face_id", "person_id")
    )
    best: dict = {}
    for match in matches:
        person_id = owners.get(match.face_id)
        if person_id and (person_id not in best or match.similarity > best[person_id]):
            best[person_id] = match.similarity
    people = Person.objects.in_bulk(list(best))
    ranked = sorted(best.items(), key=lambda item: -item[1])[:limit]
    return [(people[pid], similarity) for pid, similarity in ranked if pid in people]


def person_verify(
    *, external_id: str, data: bytes, threshold: float, actor=None, client_ip: str | None = None
) -> Verification:
    """Two-factor check: is the face in the photo the badge holder's? Every call is recorded."""
    inspect_image(data)
    person = Person.objects.filter(external_id=external_id).first()
    similarity = None
    if person is None:
        outcome = Verification.Outcome.UNKNOWN_BADGE
    else:
        engine = get_engine()
        references = list(
            Face.objects.filter(
                person=person, is_reference=True, engine=engine.name, model_version=engine.model_version
            ).select_related("collection")
        )
        faces = engine.detect_faces(data, attributes=False) if references else []
        if not references:
            outcome = Verification.Outcome.NO_REFERENCE
        elif not faces:
            outcome = Verification.Outcome.NO_FACE
        elif len(faces) > 1:
            outcome = Verification.Outcome.SEVERAL_FACES
        else:
            scores: list[float] = []
            for collection in {f.collection for f in references}:
                ids = [f.engine_face_id for f in references if f.collection_id == collection.pk]
                scores.extend(engine.face_similarities(collection.name, data, faces[0], ids).values())
            similarity = max(scores) if scores else 0.0
            outcome = Verification.Outcome.MATCH if similarity >= threshold else Verification.Outcome.NO_MATCH
    with transaction.atomic():
        verification = Verification.objects.create(
            external_id=external_id,
            person=person,
            outcome=outcome,
            match=outcome == Verification.Outcome.MATCH,
            similarity=similarity,
            threshold=threshold,
            requested_by=authenticated_user(actor),
            client_ip=client_ip,
        )
        audit_record(
            actor=actor,
            action="person.verify",
            target=verification,
            client_ip=client_ip,
            external_id=external_id,
            outcome=outcome,
            similarity=similarity,
        )
        verification_done.send(sender=Verification, verification=verification)
    return verification


def faces_compare(*, source: bytes, target: bytes, threshold: float, actor=None, client_ip=None):
    """The largest face of ``source`` against every face of ``target``."""
    inspect_image(source)
    inspect_image(target)
    result = get_engine().compare_faces(source, target, threshold=threshold)
    audit_record(
        actor=actor,
        action="faces.compare",
        client_ip=client_ip,
        matches=len(result.matches),
        unmatched=len(result.unmatched),
    )
    return result


# --- Review ------------------------------------------------------------------------------------


class ReviewError(Exception):
    pass


def face_review_confirm(
    *, face: Face, reviewer, person: Person | None = None, add_reference: bool = False, client_ip: str | None = None
) -> Face:
    """Confirm who a face is: the candidate, or ``person`` (a reassignment). Optionally enrol it as a new
    reference face of that person. The decision is kept through re-analysis."""
    if face.is_reference:
        raise ReviewError("Reference faces are not reviewed.")
    person = person or face.candidate or face.person
    if person is None:
        raise ReviewError("There is no candidate to confirm; choose a person.")
    action = "face.review.reassign" if face.candidate_id and person.pk != face.candidate_id else "face.review.confirm"
    with transaction.atomic():
        face.person = person
        face.review_state = Face.Review.CONFIRMED
        face.reviewed_by = reviewer
        face.reviewed_at = timezone.now()
        face.save(update_fields=["person", "review_state", "reviewed_by", "reviewed_at"])
        audit_record(actor=reviewer, action=action, target=face, client_ip=client_ip, person=str(person.pk),
                     similarity=face.similarity, add_reference=add_reference)  # fmt: skip
        if add_reference:
            _reference_from(face, person)
    return face


def face_review_reject(*, face: Face, reviewer, client_ip: str | None = None) -> Face:
    """Not this person: the face loses its automatic match, and re-analysis will not assign it again."""
    if face.is_reference:
        raise ReviewError("Reference faces are not reviewed.")
    with transaction.atomic():
        rejected = face.person_id or face.candidate_id
        if face.person_id:
            face.candidate_id = face.person_id
        face.person = None
        face.review_state = Face.Review.REJECTED
        face.reviewed_by = reviewer
        face.reviewed_at = timezone.now()
        face.save(update_fields=["person", "candidate", "review_state", "reviewed_by", "reviewed_at"])
        audit_record(actor=reviewer, action="face.review.reject", target=face, client_ip=client_ip,
                     rejected_person=str(rejected) if rejected else None)  # fmt: skip
    return face


def face_flag_for_review(*, face: Face, actor, client_ip: str | None = None) -> None:
    Face.objects.filter(pk=face.pk, is_reference=False).update(review_state=Face.Review.NEEDS_REVIEW)
    audit_record(actor=actor, action="face.flag", target=face, client_ip=client_ip)


def _reference_from(face: Face, person: Person) -> Face:
    """Enrol a confirmed sighting as a reference face of ``person`` in the image's collection."""
    if face.embedding is None:
        raise ReviewError("This face has no stored embedding to enrol.")
    collection = face.image.collection
    reference = Face.objects.create(
        image=face.image,
        left=face.left,
        top=face.top,
        width=face.width,
        height=face.height,
        confidence=face.confidence,
        landmarks=face.landmarks,
        pose=face.pose,
        quality=face.quality,
        embedding=face.embedding,
        engine=face.engine,
        model_version=face.model_version,
        is_reference=True,
        collection=collection,
        engine_face_id=str(uuid.uuid4()),
        person=person,
    )
    collection.bump_version()
    return reference
