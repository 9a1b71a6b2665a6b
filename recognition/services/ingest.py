"""Images coming in: checked, stored, committed as ``pending``, and queued for analysis after commit."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from recognition.audit import Actor, audit_record, authenticated_user
from recognition.engines.base import FEATURES
from recognition.exceptions import Conflict, ImageRejected
from recognition.fetch import FetchRefused, check_url
from recognition.models import AuditEvent, Collection, Image
from recognition.services.files import stored_file
from recognition.services.queue import ANALYSE_IMAGE, analysis_queue, enqueue_after_commit
from recognition.validation import CheckedImage, ImageInfo, checked


@dataclass(frozen=True)
class Upload:
    image: Image
    created: bool  # False when the same bytes were uploaded before and that image is returned
    queued: bool = True  # whether analysis is on its way (a new image, or an earlier one with features added)


def image_upload(
    *,
    data: bytes | CheckedImage,
    source: str = Image.Source.UPLOAD,
    filename: str = "",
    uploaded_by: Actor = None,
    features: list[str] | None = None,
    collection: Collection | None = None,
    allow_duplicate: bool = False,
    client_ip: str | None = None,
) -> Upload:
    """An upload as the API takes it: the earlier image when these bytes were uploaded to the collection
    before (unless ``allow_duplicate``), otherwise a new image queued for analysis."""
    collection = collection or Collection.get_default()
    if allow_duplicate:
        image = image_ingest(data=data, source=source, filename=filename, uploaded_by=uploaded_by, features=features,
                             collection=collection, client_ip=client_ip)  # fmt: skip
        return Upload(image=image, created=True)
    # Before any decoding: a duplicate is found from its checksum alone (already known once checked).
    sha256 = data.info.sha256 if isinstance(data, CheckedImage) else hashlib.sha256(data).hexdigest()
    earlier = image_find_duplicate(sha256=sha256, collection=collection)
    if earlier is None:
        try:
            image = image_ingest(
                data=data, source=source, filename=filename, uploaded_by=uploaded_by, features=features,
                collection=collection, client_ip=client_ip, unique=True,
            )  # fmt: skip
            return Upload(image=image, created=True)
        except IntegrityError:  # the same bytes arrived at the same instant: theirs was committed first
            earlier = image_find_duplicate(sha256=sha256, collection=collection)
            if earlier is None:
                raise
    audit_record(actor=uploaded_by, action=AuditEvent.Action.IMAGE_UPLOAD, target=earlier, client_ip=client_ip,
                 created=False)  # fmt: skip
    added = _add_features(earlier, features=features, actor=uploaded_by, client_ip=client_ip)
    return Upload(image=earlier, created=False, queued=added)


def _add_features(image: Image, *, features: list[str] | None, actor: Actor, client_ip: str | None) -> bool:
    """The same bytes again, asking for analyses the earlier image did not get: analyse it again with both
    sets. ``Conflict`` while it is being analysed (the new features would be missed); False when nothing
    new was asked for."""
    wanted = clean_features(features=features)
    missing = [f for f in wanted if f not in image.features]
    if not missing:
        return False
    union = [f for f in FEATURES if f in image.features or f in missing]
    with transaction.atomic():
        updated = (
            Image.objects.filter(pk=image.pk)
            .exclude(status=Image.Status.PROCESSING)
            .update(features=union, status=Image.Status.PENDING, error="", updated_at=timezone.now())
        )
        if not updated:
            raise Conflict(
                f"This image is being analysed right now; upload it again with {', '.join(missing)} once it is "
                "done, or set allow_duplicate to analyse a separate copy.",
                code="analysis_in_progress",
            )
        audit_record(actor=actor, action=AuditEvent.Action.IMAGE_REANALYSE, target=image, client_ip=client_ip,
                     added_features=missing)  # fmt: skip
        image_enqueue_analysis(image=image)
    image.refresh_from_db()
    return True


def image_ingest(
    *,
    data: bytes | CheckedImage,
    source: str = Image.Source.UPLOAD,
    filename: str = "",
    uploaded_by: Actor = None,
    features: list[str] | None = None,
    collection: Collection | None = None,
    client_ip: str | None = None,
    unique: bool = False,
) -> Image:
    """Validate and store an image, commit its row as ``pending`` and queue its analysis.

    Raises ``ImageRejected`` (nothing stored) when the bytes are not an acceptable image; with ``unique``,
    ``IntegrityError`` (nothing stored) when the collection already has an upload of these bytes.
    """
    image_data = checked(data)
    image = new_image(
        info=image_data.info,
        original_filename=filename[:255],
        source=source,
        collection=collection or Collection.get_default(),
        features=clean_features(features=features),
        uploaded_by=uploaded_by,
    )
    if unique:
        image.upload_key = image.sha256
    with stored_file(image=image, data=image_data.data, extension=image_data.info.extension):
        _commit_pending(image, uploaded_by=uploaded_by, client_ip=client_ip)
    return image


def image_find_duplicate(*, sha256: str, collection: Collection | None = None) -> Image | None:
    """The earliest image with bytes of this checksum in the collection (enrolment photos aside), if any."""
    return (
        Image.objects.filter(sha256=sha256, collection=collection or Collection.get_default())
        .exclude(source__in=[Image.Source.ENROLMENT, Image.Source.REKOGNITION_API])
        .order_by("created_at")
        .first()
    )


def image_ingest_url(
    *,
    url: str,
    uploaded_by: Actor = None,
    features: list[str] | None = None,
    collection: Collection | None = None,
    client_ip: str | None = None,
) -> Upload:
    """Commit a pending image whose bytes the worker fetches from ``url`` (with SSRF checks) before analysis."""
    try:
        check_url(url)
    except FetchRefused as exc:
        raise ImageRejected(exc.message, code="url_refused", field="url") from exc
    image = Image(
        source=Image.Source.URL,
        source_url=url,
        original_filename=urlsplit(url).path.rsplit("/", 1)[-1][:255],
        collection=collection or Collection.get_default(),
        features=clean_features(features=features),
        uploaded_by=authenticated_user(uploaded_by),
    )
    _commit_pending(image, uploaded_by=uploaded_by, client_ip=client_ip)
    return Upload(image=image, created=True)


def _commit_pending(image: Image, *, uploaded_by: Actor, client_ip: str | None) -> None:
    """Save a new pending image, record the upload, and queue its analysis once that commits."""
    with transaction.atomic():
        image.save()
        audit_record(actor=uploaded_by, action=AuditEvent.Action.IMAGE_UPLOAD, target=image, client_ip=client_ip,
                     created=True)  # fmt: skip
        image_enqueue_analysis(image=image)


def image_enqueue_analysis(*, image: Image) -> None:
    """Queue analysis once the current transaction commits (at once outside one)."""
    enqueue_after_commit(task=ANALYSE_IMAGE, args=[str(image.pk)], queue=analysis_queue(image.features))


def clean_features(*, features: list[str] | None) -> list[str]:
    """The requested analyses in their canonical order; the configured default when none are asked for."""
    if not features:
        return list(settings.FACESITE_DEFAULT_FEATURES)
    unknown = sorted(set(features) - set(FEATURES))
    if unknown:
        raise ImageRejected(
            f"Unknown feature(s): {', '.join(unknown)}; choose from {', '.join(FEATURES)}.",
            code="invalid_features",
            field="features",
        )
    return [f for f in FEATURES if f in features]


def new_image(*, info: ImageInfo, uploaded_by: Actor, **fields: Any) -> Image:
    """An unsaved image row describing checked bytes."""
    return Image(
        sha256=info.sha256,
        size_bytes=info.size_bytes,
        width=info.width,
        height=info.height,
        content_type=info.content_type,
        uploaded_by=authenticated_user(uploaded_by),
        **fields,
    )
