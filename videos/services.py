"""Videos coming in: checked from their bytes, stored, committed as ``pending`` and queued; and deleted."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from recognition.audit import Actor, audit_record, authenticated_user
from recognition.exceptions import InvalidInput
from recognition.fetch import FetchRefused, check_url
from recognition.models import AuditEvent, Collection
from recognition.s3_objects import S3Object
from recognition.services.files import delete_files_after_commit, stored_as
from recognition.services.queue import VIDEO, enqueue_after_commit
from videos.media import VideoInfo, VideoRejected, probe
from videos.models import FEATURES, Camera, Video


@dataclass(frozen=True)
class AnalysisOptions:
    """What a video is analysed for (``Video``'s fields of the same names say more): each sampled frame's
    ``features`` (faces, labels, moderation; in any order: the video keeps them in ``FEATURES``' order);
    whether the faces followed are searched among the collection's people; what sightings keep of their face
    at every frame; the lowest confidence of labels kept."""

    features: tuple[str, ...] = ("faces",)
    identify: bool = True
    face_details: str = Video.FaceDetails.NONE
    min_confidence: float = 50.0


AS_USUAL = AnalysisOptions()


class VideoRefused(InvalidInput):
    """The bytes cannot be accepted as a video; nothing was stored."""

    code = "invalid_video"


def video_upload(
    *, file: IO[bytes], filename: str = "", collection: Collection | None = None, uploaded_by: Actor = None,
    client_ip: str | None = None, options: AnalysisOptions = AS_USUAL,
) -> Video:  # fmt: skip
    """Check a video file from its bytes (container, a video stream that decodes, size and duration), store it
    and queue its analysis. ``VideoRefused`` (nothing stored) when it cannot be taken."""
    size = _size(file)
    info = video_check(file, size=size)
    video = _new_video(collection=collection, uploaded_by=uploaded_by, filename=filename, options=options)
    video_describe(video, info, size=size, sha256=file_sha256(file))
    with stored_video(video, file), transaction.atomic():
        video.save()
        audit_record(actor=uploaded_by, action=AuditEvent.Action.VIDEO_UPLOAD, target=video,
                     client_ip=client_ip, duration=info.duration, size=size)  # fmt: skip
        video_enqueue(video=video)
    return video


def video_upload_url(
    *, url: str, collection: Collection | None = None, uploaded_by: Actor = None, client_ip: str | None = None,
    options: AnalysisOptions = AS_USUAL,
) -> Video:  # fmt: skip
    """Commit a video to be fetched from ``url`` by the worker (checked, stored and analysed there)."""
    try:
        check_url(url)
    except FetchRefused as exc:
        raise InvalidInput(exc.message, code="url_refused", field="url") from exc
    return _video_to_fetch(url, filename=url.rsplit("/", 1)[-1], collection=collection, uploaded_by=uploaded_by,
                           client_ip=client_ip, options=options)  # fmt: skip


def video_upload_s3(
    *, source: S3Object, collection: Collection | None = None, uploaded_by: Actor = None, client_ip: str | None = None,
    options: AnalysisOptions = AS_USUAL,
) -> Video:  # fmt: skip
    """Commit a video to be read from S3 by the worker (checked, stored and analysed there), with Facesite's own
    credentials: the caller decides which objects may be named."""
    longest = Video._meta.get_field("source_url").max_length or 0
    if len(source.url) > longest:  # a key S3 takes (1,024 bytes) can triple once quoted
        raise InvalidInput(f"The object's name is too long: s3://{source.bucket}/… is {len(source.url):,} characters "
                           f"quoted, and a video's source holds {longest:,}.", code="name_too_long")  # fmt: skip
    return _video_to_fetch(source.url, filename=source.name, collection=collection, uploaded_by=uploaded_by,
                           client_ip=client_ip, options=options)  # fmt: skip


def _video_to_fetch(
    url: str, *, filename: str, collection: Collection | None, uploaded_by: Actor, client_ip: str | None,
    options: AnalysisOptions,
) -> Video:  # fmt: skip
    video = _new_video(collection=collection, uploaded_by=uploaded_by, filename=filename, options=options)
    video.source_url = url
    with transaction.atomic():
        video.save()
        audit_record(actor=uploaded_by, action=AuditEvent.Action.VIDEO_UPLOAD, target=video, client_ip=client_ip,
                     url=url)  # fmt: skip
        video_enqueue(video=video)
    return video


def video_check(file: IO[bytes], *, size: int) -> VideoInfo:
    limit = settings.FACESITE_VIDEO_MAX_BYTES
    if size > limit:
        raise VideoRefused(f"The file is {size:,} bytes; the limit is {limit:,} bytes.", code="too_large")
    if size == 0:
        raise VideoRefused("The file is empty.", code="empty")
    try:
        info = probe(file, max_pixels=settings.FACESITE_VIDEO_MAX_PIXELS)
    except VideoRejected as exc:
        raise VideoRefused(exc.message, code=exc.code) from exc
    finally:
        file.seek(0)
    longest = settings.FACESITE_VIDEO_MAX_SECONDS
    if info.duration > longest:
        raise VideoRefused(f"The video lasts {info.duration:,.0f} s; the limit is {longest:,.0f} s.", code="too_long")
    return info


def video_enqueue(*, video: Video) -> None:
    enqueue_after_commit(task="videos.tasks.analyse_video", args=[str(video.pk)], queue=VIDEO)


def video_delete(*, video: Video, actor: Actor = None, client_ip: str | None = None) -> None:
    """Delete a video, its sightings and the frames kept for them (with their faces), its file, and the frames
    its chunks keep while it is analysed."""

    def files() -> list[str]:
        return ([video.file.name] if video.file.name else []) + video.chunks.frame_keys()

    _delete_with_sightings(video, AuditEvent.Action.VIDEO_DELETE, actor=actor, client_ip=client_ip, files=files)


def camera_delete(*, camera: Camera, actor: Actor = None, client_ip: str | None = None) -> None:
    """Delete a camera (its stored stream credentials with it), its sightings and the frames kept for them
    (with their faces)."""
    _delete_with_sightings(camera, AuditEvent.Action.CAMERA_DELETE, actor=actor, client_ip=client_ip,
                           name=camera.name, sightings=camera.sightings.count())  # fmt: skip


def _delete_with_sightings(
    owner: Video | Camera, action: AuditEvent.Action, *, actor: Actor, client_ip: str | None,
    files: Callable[[], list[str]] = list, **details: object,
) -> None:  # fmt: skip
    """Delete ``owner`` (audited) and the frames kept for its sightings, and the files ``files()`` names once
    its row is locked: a chunk finishing meanwhile (videos.analysis takes the video's row first too) has either
    kept its frames by then or will find the video gone."""
    from recognition.services.erasure import image_delete

    frames = [s.frame for s in owner.sightings.select_related("frame") if s.frame is not None]
    with transaction.atomic():
        owner._meta.model._default_manager.select_for_update().filter(pk=owner.pk).exists()
        names = files()
        audit_record(actor=actor, action=action, target=owner, client_ip=client_ip, **details)
        owner.delete()
        delete_files_after_commit(names=names)
    for frame in frames:
        image_delete(image=frame, actor=actor, client_ip=client_ip)


def videos_due(cutoff: datetime) -> QuerySet[Video]:
    """Videos uploaded before ``cutoff`` that no analysis holds: what the retention purge removes."""
    return Video.objects.filter(created_at__lt=cutoff).exclude(
        status__in=[Video.Status.PENDING, Video.Status.PROCESSING]
    )


def _new_video(*, collection: Collection | None, uploaded_by: Actor, filename: str, options: AnalysisOptions) -> Video:
    return Video(
        features=[feature for feature in FEATURES if feature in options.features],  # in one order, whoever asks
        identify=options.identify,
        face_details=options.face_details,
        min_confidence=options.min_confidence,
        collection=collection or Collection.get_default(),
        uploaded_by=authenticated_user(uploaded_by),
        original_filename=filename[:255],
        sample_rate=settings.FACESITE_VIDEO_SAMPLE_RATE,
        keyframes_only=settings.FACESITE_VIDEO_KEYFRAMES_ONLY,
        chunk_seconds=settings.FACESITE_VIDEO_CHUNK_SECONDS,
    )


def video_describe(video: Video, info: VideoInfo, *, size: int, sha256: str) -> None:
    video.container, video.codec = info.container, info.codec
    video.width, video.height = info.width, info.height
    video.duration, video.frame_rate = info.duration, info.frame_rate
    video.size_bytes, video.sha256 = size, sha256


@contextmanager
def stored_video(video: Video, file: IO[bytes]) -> Iterator[None]:
    """Store the video's file; it is deleted again if the block fails (as an image's, ``stored_file``)."""
    extension = "mp4" if video.container == "mp4/mov" else "mkv"
    intended = f"videos/{timezone.now():%Y/%m}/{video.pk}.{extension}"
    with stored_as(intended, File(file), kind="video", key=video.pk) as name:
        video.file.name = name
        yield


def _size(file: IO[bytes]) -> int:
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, 2)
        size = file.tell()
        file.seek(0)
    return int(size)


def file_sha256(file: IO[bytes]) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for block in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(block)
    file.seek(0)
    return digest.hexdigest()
