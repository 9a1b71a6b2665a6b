"""Analysing a video: planned as chunks, each analysed by its own task (sampled frames, faces, tracks), then
merged once the last chunk is in: one search per track against enrolled people, and sightings.

The chunks' results meet in the database, not in a Celery chord: Facesite keeps no task results, and a
chunk whose worker died is simply retaken by the sweeper (``videos.sweeper``) while the others stand.
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
import uuid
from typing import Any

import av
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from recognition.engine_handler import get_engine
from recognition.engines.base import Analysis, BaseEngine, EngineError, S3Location
from recognition.exceptions import StorageUnavailable
from recognition.fetch import FetchRefused, fetch_to_file
from recognition.s3_objects import S3Object, is_s3, s3_to_file
from recognition.services.files import delete_files_after_commit, file_s3_location, files_delete, stored_as
from recognition.services.queue import VIDEO, enqueue_after_commit
from recognition.services.strays import UUID, uuid_in
from videos.labels import frame_labels, labels_record
from videos.media import PictureTooLarge, frames
from videos.models import Video, VideoChunk
from videos.services import VideoRefused, file_sha256, stored_video, video_check, video_describe
from videos.sightings import jpeg, sighting_record
from videos.signals import video_analysed
from videos.tracking import GAP_FRAMES, Track, Tracker, merge, track_from_json, track_to_json

logger = logging.getLogger(__name__)
ANALYSE_VIDEO = "videos.tasks.analyse_video"
ANALYSE_CHUNK = "videos.tasks.analyse_video_chunk"
FINISH_VIDEO = "videos.tasks.finish_video"
#: Tries a chunk gets, whatever stopped the earlier ones (a lost worker, a throttled engine, a full disk), and
#: tries at fetching a video from its URL while the failures are passing ones (a server down or too slow).
MAX_ATTEMPTS = 3
#: Seconds a chunk or a fetch waits after a passing failure, times the tries it has had.
RETRY_SECONDS = 30


def video_start(*, video_id: str) -> None:
    """Claim the video, fetch it if it came as a URL, then plan its chunks and queue them."""
    claimed = Video.objects.filter(pk=video_id, status=Video.Status.PENDING).update(
        status=Video.Status.PROCESSING, progress=0, updated_at=timezone.now()
    )
    if not claimed:
        return  # already started (a redelivered message), or deleted
    video = Video.objects.select_related("collection").get(pk=video_id)
    if video.source_url and not video.file:
        Video.objects.filter(pk=video.pk).update(fetch_attempts=F("fetch_attempts") + 1)
        video.refresh_from_db(fields=["fetch_attempts"])
        try:
            _fetch(video)
        except (FetchRefused, VideoRefused) as exc:
            _fetch_failed(video, exc)
            return
    every = 1.0 / video.sample_rate
    # Chunks start on sampling times, so the frames a video is sampled at do not depend on how it was cut.
    length = max(every, round(video.chunk_seconds / every) * every)
    count = max(1, math.ceil((video.duration or 0.0) / length))
    if stored_video_location(video, get_engine()) is not None:
        length, count = max(video.duration or 0.0, every), 1  # the engine follows faces through the whole video
    with transaction.atomic():
        chunks = VideoChunk.objects.bulk_create(
            VideoChunk(video=video, index=i, start=round(i * length, 3), end=round((i + 1) * length, 3))
            for i in range(count)
        )
        for chunk in chunks:
            enqueue_after_commit(task=ANALYSE_CHUNK, args=[str(chunk.pk)], queue=VIDEO)


def video_chunk_analyse(*, chunk_id: int) -> None:
    """Analyse one chunk (claimed, so a redelivered message does nothing) and, if it was the last, finish."""
    token = uuid.uuid4()
    claimed = VideoChunk.objects.filter(pk=chunk_id, status=VideoChunk.Status.PENDING).update(
        status=VideoChunk.Status.PROCESSING, claim_token=token, claimed_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return
    chunk = VideoChunk.objects.select_related("video", "video__collection").get(pk=chunk_id)
    video = chunk.video
    try:
        tracks, count, labels = _analyse_chunk(video, chunk)
    except (av.FFmpegError, OSError, PictureTooLarge) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        error = f"The video could not be decoded between {chunk.start:g} s and {chunk.end:g} s: {reason}"
        if isinstance(exc, av.FFmpegError):  # what FFmpeg says of a picture far over its limit too
            error += " (the file is damaged, or its pictures grow far larger than FACESITE_VIDEO_MAX_PIXELS there)"
        video_fail(video_id=str(video.pk), error=error)
        return
    except EngineError as exc:
        if exc.retryable:  # throttled or unreachable: many frames' worth of calls, the likeliest to meet it
            _try_again_later(chunk, token, reason=f"The engine failed: {exc.message}")
        else:
            video_fail(video_id=str(video.pk), error=str(exc))
        return
    except StorageUnavailable as exc:  # a full or read-only disk for the frames
        _try_again_later(chunk, token, reason=exc.message)
        return
    with transaction.atomic():
        # The video's row first, as video_fail and video_delete take it: a video that failed or went meanwhile
        # does not get this chunk's frames kept after it, where nothing would ever delete them.
        running = Video.objects.select_for_update().filter(pk=video.pk, status=Video.Status.PROCESSING)
        done = running.exists() and VideoChunk.objects.filter(pk=chunk.pk, claim_token=token).update(
            status=VideoChunk.Status.DONE, tracks=[track_to_json(t) for t in tracks], labels=labels, frames=count,
            claim_token=None, updated_at=timezone.now(),
        )  # fmt: skip
        if not done:
            delete_files_after_commit(names=[track.frame_key for track in tracks])
            logger.warning("Chunk %s was retaken while analysed, or its video failed or went; results dropped.", chunk)
            return
        total = video.chunks.count()
        finished = video.chunks.filter(status=VideoChunk.Status.DONE).count()
        Video.objects.filter(pk=video.pk, status=Video.Status.PROCESSING).update(
            progress=min(99, 100 * finished // total), updated_at=timezone.now()
        )
        if finished == total:
            enqueue_after_commit(task=FINISH_VIDEO, args=[str(video.pk)], queue=VIDEO)


def video_finish(*, video_id: str) -> Video | None:
    """Merge the chunks' tracks, identify each track once, and store the sightings; the video is done."""
    engine = get_engine()
    with transaction.atomic():
        video = Video.objects.select_for_update().select_related("collection").filter(
            pk=video_id, status=Video.Status.PROCESSING
        ).first()  # fmt: skip
        if video is None or video.chunks.exclude(status=VideoChunk.Status.DONE).exists():
            return None
        chunks = list(video.chunks.all())
        every = 1.0 / video.sample_rate
        tracks = merge([[track_from_json(t) for t in c.tracks] for c in chunks], max_gap=GAP_FRAMES * every)
        kept = {t.frame_key for t in tracks}
        unused = [t["frame_key"] for c in chunks for t in c.tracks if t["frame_key"] not in kept]
        for track in tracks:
            with default_storage.open(track.frame_key, "rb") as stored:
                frame_jpeg = stored.read()
            sighting_record(track=track, frame_jpeg=frame_jpeg, collection=video.collection, engine=engine, video=video)
        labelled = labels_record(video, (found for c in chunks for found in c.labels))
        now = timezone.now()
        Video.objects.filter(pk=video.pk).update(
            status=Video.Status.DONE, progress=100, error="", engine=engine.name,
            model_version=engine.model_version, analysed_at=now, updated_at=now,
        )  # fmt: skip
        video.refresh_from_db()
        video.chunks.update(tracks=[], labels=[])
        delete_files_after_commit(names=[*kept, *unused])
        video_analysed.send(sender=Video, video=video)
    logger.info("Video %s analysed: %d sightings and %d labels from %d chunks.", video.pk, len(tracks), labelled,
                len(chunks))  # fmt: skip
    return video


def _try_again_later(chunk: VideoChunk, token: uuid.UUID, *, reason: str) -> None:
    """A passing failure: the chunk goes back to the queue for a later try, or, once it has had
    ``MAX_ATTEMPTS``, the video fails saying why. The other chunks stand either way."""
    if chunk.attempts >= MAX_ATTEMPTS:
        error = f"Gave up on {chunk.start:g}–{chunk.end:g} s after {chunk.attempts} attempts: {reason}"
        video_fail(video_id=str(chunk.video_id), error=error)
        return
    wait = RETRY_SECONDS * chunk.attempts
    logger.warning("Video %s, %g–%g s: %s (trying again in %d s)", chunk.video_id, chunk.start, chunk.end, reason, wait)
    with transaction.atomic():
        if VideoChunk.objects.filter(pk=chunk.pk, claim_token=token).update(
            status=VideoChunk.Status.PENDING, claim_token=None, updated_at=timezone.now()
        ):
            enqueue_after_commit(task=ANALYSE_CHUNK, args=[str(chunk.pk)], queue=VIDEO, countdown=wait)


def _fetch_failed(video: Video, exc: FetchRefused | VideoRefused) -> None:
    """A passing failure puts the video back in the queue for a later try, until ``MAX_ATTEMPTS``;
    anything else, or the last try, fails it saying why."""
    where = "in S3" if is_s3(video.source_url) else "at the URL"
    reason = f"The video {where} could not be taken: {exc.message}"
    if not exc.retryable:
        video_fail(video_id=str(video.pk), error=reason)
    elif video.fetch_attempts >= MAX_ATTEMPTS:
        video_fail(video_id=str(video.pk), error=f"Gave up after {video.fetch_attempts} tries: {reason}")
    else:
        wait = RETRY_SECONDS * video.fetch_attempts
        logger.warning("Video %s: %s (trying again in %d s)", video.pk, reason, wait)
        with transaction.atomic():
            Video.objects.filter(pk=video.pk, status=Video.Status.PROCESSING).update(
                status=Video.Status.PENDING, error=f"Will try again: {reason}", updated_at=timezone.now()
            )
            enqueue_after_commit(task=ANALYSE_VIDEO, args=[str(video.pk)], queue=VIDEO, countdown=wait)


def video_fail(*, video_id: str, error: str) -> None:
    """The video failed, saying why; the frames its chunks kept for tracks go (it will not be finished). The
    first failure's reason stays: later chunks of the same video failing too say no more."""
    with transaction.atomic():
        unfinished = Video.objects.filter(pk=video_id).exclude(status__in=[Video.Status.DONE, Video.Status.FAILED])
        if not unfinished.update(status=Video.Status.FAILED, error=error, updated_at=timezone.now()):
            return
        chunks = VideoChunk.objects.filter(video_id=video_id)
        delete_files_after_commit(names=chunks.frame_keys())
        chunks.update(tracks=[], labels=[])
    logger.warning("Video %s failed: %s", video_id, error)


def stored_video_location(video: Video, engine: BaseEngine) -> S3Location | None:
    """Where the engine can read the video itself (Rekognition: in S3, in its region), if it can. Only for a
    video searched for faces alone: the engine's stored-video call searches a collection, and finds no labels."""
    if not engine.stored_video or not video.identify or video.features != ["faces"]:
        return None
    location = file_s3_location(video.file)
    return location if location is not None and location.region == getattr(engine, "region", None) else None


def _analyse_chunk(video: Video, chunk: VideoChunk) -> tuple[list[Track], int, list[list[Any]]]:
    """The chunk's sampled frames, each analysed for what the video asks: the faces followed (tracks), how many
    frames, and the labels found (``videos.labels.frame_labels``)."""
    engine = get_engine()
    location = stored_video_location(video, engine)
    if location is not None:
        return (*_track_stored(video, engine, location), [])
    labels: list[list[Any]] = []
    every = 1.0 / video.sample_rate
    tracker = Tracker.sampling(every)
    best_frames: dict[int, bytes] = {}
    count = 0
    with video.file.open("rb") as source:
        for frame in frames(source, start=chunk.start, end=chunk.end, every=every, keyframes_only=video.keyframes_only,
                            max_pixels=settings.FACESITE_VIDEO_MAX_PIXELS):  # fmt: skip
            count += 1
            data = jpeg(frame.rgb)
            analysis = _frame_analyse(engine, data, video)
            labels += frame_labels(analysis, at=frame.at, min_text_confidence=video.min_confidence)
            for track, best in tracker.add(frame.at, analysis.faces):
                if best:
                    best_frames[id(track)] = data
    _keep_frames(video, chunk.index, [(track, best_frames[id(track)]) for track in tracker.tracks])
    return tracker.tracks, count, labels


def _frame_analyse(engine: BaseEngine, data: bytes, video: Video) -> Analysis:
    """One sampled frame analysed for what the video asks, as a photo is, in one call: the frame decoded once,
    its faces found once, for tracking and for the labels of people; the faces' attributes only where every
    frame keeps them."""
    return engine.analyse(
        data, features=video.features, min_label_confidence=video.min_confidence,
        min_moderation_confidence=video.min_confidence, face_attributes=video.face_details == Video.FaceDetails.ALL,
    )  # fmt: skip


def _track_stored(video: Video, engine: BaseEngine, location: S3Location) -> tuple[list[Track], int]:
    """The engine's own tracks of the whole video, each with its best frame decoded here."""
    hits = engine.track_faces_in_video(video.collection.name, location)
    tracks: dict[int, Track] = {}
    for hit in sorted(hits, key=lambda h: (h.track, h.at)):
        tracks.setdefault(hit.track, Track()).add(hit.at, hit.face)
    best_frames: list[tuple[Track, bytes]] = []
    with video.file.open("rb") as source:
        for track in tracks.values():
            frame = next(frames(source, start=track.best_at, end=track.best_at + 1.0, every=1.0,
                                max_pixels=settings.FACESITE_VIDEO_MAX_PIXELS), None)  # fmt: skip
            if frame is None:
                raise OSError(f"no frame could be decoded at {track.best_at:g} s")
            best_frames.append((track, jpeg(frame.rgb)))
            source.seek(0)
    _keep_frames(video, 0, best_frames)
    return list(tracks.values()), len(hits)


def _keep_frames(video: Video, index: int, best_frames: list[tuple[Track, bytes]]) -> None:
    """Store each track's best frame and set its ``frame_key``: all of them, or none (``StorageUnavailable``
    on a full or read-only disk, the frames already stored removed again, nothing partly written left)."""
    kept: list[str] = []
    try:
        for n, (track, data) in enumerate(best_frames):
            name = f"videos/frames/{video.pk}/{index}-{n}.jpg"
            with stored_as(name, ContentFile(data), kind="frame", key=name) as saved:
                track.frame_key = saved
                kept.append(saved)
    except StorageUnavailable:
        files_delete(names=kept, again_later=True)
        raise


FRAME_NAME = re.compile(rf"videos/frames/{UUID}/.+")


def frames_held(names: list[str]) -> set[str]:
    """Which of these stored frames a chunk keeps until its video is finished, or are not named as
    ``_keep_frames`` names them: what the stray files' search must leave."""
    ids = {name: uuid_in(name, FRAME_NAME) for name in names}
    kept = set(VideoChunk.objects.filter(video_id__in={i for i in ids.values() if i}).frame_keys())
    return {name for name, id_ in ids.items() if id_ is None or name in kept}


def _fetch(video: Video) -> None:
    """Fetch the video at its URL (or read it from S3) into a temporary file (on disk past a few MB), check it,
    store it."""
    limit = settings.FACESITE_VIDEO_MAX_BYTES
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as file:
        timeout = settings.FACESITE_VIDEO_FETCH_TIMEOUT
        if is_s3(video.source_url):  # named to the Rekognition-compatible API's StartFaceSearch
            size = s3_to_file(S3Object.from_url(video.source_url), file, limit=limit, timeout=timeout)
        else:
            size = fetch_to_file(video.source_url, file, limit=limit, timeout=timeout, accept="video/*")
        file.seek(0)
        info = video_check(file, size=size)
        video_describe(video, info, size=size, sha256=file_sha256(file))
        with stored_video(video, file):
            video.save()
