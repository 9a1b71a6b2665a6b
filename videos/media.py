"""Video files through PyAV (FFmpeg's libraries, inside the ``av`` wheel): what a file holds, judged from
its bytes, and its frames at a sampling rate. No Django models here."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import IO, Any

import av
import numpy as np

# FFmpeg's demuxer names for the containers taken: MP4 and MOV share one, as do Matroska and WebM.
CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4/mov", "matroska,webm": "mkv/webm"}
# FFmpeg's demuxers for still pictures: image2 (by file name), gif, and one "<format>_pipe" per picture format.
PICTURE_DEMUXERS = {"image2", "image2pipe", "gif"}


# FFmpeg checks its max_pixels against a picture's rows padded to its SIMD alignment (64 bytes with AVX-512):
# it refuses a 160 × 120 picture at a limit of 160 × 120, counting it as 192 × 120. Given our limit plus that
# padding for pictures up to 16 384 rows (3 MB a frame), it still stops a bomb's first picture; ours is
# checked exactly on every picture it decodes (``within_limit``).
ALIGNMENT_ROOM = 64 * 16384


class PictureTooLarge(ValueError):
    """A decoded picture larger than the limit (one within FFmpeg's alignment room)."""


class VideoRejected(Exception):
    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message, self.code = message, code


@dataclass(frozen=True)
class VideoInfo:
    container: str
    codec: str
    width: int
    height: int
    duration: float  # seconds
    frame_rate: float


@dataclass(frozen=True)
class Frame:
    at: float  # seconds from the start
    rgb: np.ndarray  # height × width × 3, uint8


@contextmanager
def open_video(source: Any, *, max_pixels: int, options: dict[str, str] | None = None, **kwargs: Any) -> Iterator[Any]:
    """``av.open`` for reading, with no decoder of it making a picture larger than ``max_pixels``: 50 KB of VP9
    can hold a 12 000 × 12 000 picture, and one frame of it decoded takes hundreds of MB. The limit is FFmpeg's
    ``max_pixels``, given to the look at the streams (which decodes a frame) and to each video stream's decoder.
    """
    limit = {"max_pixels": str(max_pixels + ALIGNMENT_ROOM)}
    with av.open(source, mode="r", options={**(options or {}), **limit}, **kwargs) as container:
        for stream in container.streams.video:
            stream.codec_context.options = limit
        yield container


def within_limit(pictures: Iterator[Any], *, max_pixels: int) -> Iterator[Any]:
    """The decoded pictures, stopping with ``PictureTooLarge`` at one larger than ``max_pixels``: a stream may
    grow midway, and FFmpeg's own limit leaves room for its alignment."""
    for picture in pictures:
        if picture.width * picture.height > max_pixels:
            raise PictureTooLarge(
                f"its pictures grow to {picture.width}×{picture.height} pixels, above the limit of {max_pixels:,} "
                "pixels a picture"
            )
        yield picture


def probe(source: bytes | IO[bytes], *, max_pixels: int) -> VideoInfo:
    """What the file is, from its bytes: ``VideoRejected`` unless a container we take holds a video stream
    that decodes. The first frame is decoded, so a file cut before its first picture is refused here; no
    picture larger than ``max_pixels`` is ever decoded (``too_many_pixels``, or ``undecodable`` where not
    even its size could be read within the limit)."""
    try:
        with open_video(
            io.BytesIO(source) if isinstance(source, bytes) else source, max_pixels=max_pixels
        ) as container:
            kind = CONTAINERS.get(container.format.name)
            if kind is None and _is_picture(container.format.name):
                raise VideoRejected(
                    "This is a picture, not a video: send pictures as images (/api/images/). Videos are MP4, MOV, "
                    "MKV or WebM.", code="unsupported_container",
                )  # fmt: skip
            if kind is None:
                raise VideoRejected(
                    f"This is {container.format.long_name or container.format.name}, not a video we take "
                    "(MP4, MOV, MKV or WebM).", code="unsupported_container",
                )  # fmt: skip
            if not container.streams.video:
                raise VideoRejected("The file has no video stream (sound only?).", code="no_video_stream")
            stream = container.streams.video[0]
            duration = _duration(container, stream)
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > max_pixels:
                raise VideoRejected(
                    f"The video's pictures are {width}×{height} pixels, above the limit of {max_pixels:,} pixels a "
                    "picture.", code="too_many_pixels",
                )  # fmt: skip
            try:
                first = next(within_limit(container.decode(stream), max_pixels=max_pixels), None)
            except PictureTooLarge as exc:  # the size was not in the header
                raise VideoRejected(f"The video's pictures are too large: {exc}.", code="too_many_pixels") from exc
            except av.FFmpegError as exc:
                if width * height:
                    raise
                raise VideoRejected(  # the size is not in the header, and decoding stopped at the limit
                    f"No picture of the video could be decoded within the limit of {max_pixels:,} pixels a picture: "
                    "its pictures are larger, or the file is damaged.", code="undecodable",
                ) from exc  # fmt: skip
            if first is None:
                raise VideoRejected("No frame of the video could be decoded.", code="undecodable")
            rate = float(stream.average_rate or stream.guessed_rate or 0)
            return VideoInfo(kind, stream.codec_context.name, width, height, duration, rate)
    except VideoRejected:
        raise
    except (av.FFmpegError, UnicodeDecodeError, ValueError, IndexError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise VideoRejected(
            f"This is not a video that can be read ({reason}): a damaged or truncated file, or no video at all.",
            code="invalid_video",
        ) from exc


def frames(
    source: IO[bytes], *, start: float, end: float, every: float, max_pixels: int, keyframes_only: bool = False
) -> Iterator[Frame]:
    """Frames from ``start`` to before ``end`` (seconds), one per ``every`` seconds: the first decoded at or
    after each sampling time. Seeks to the keyframe before ``start``, so a chunk decodes only its part. With
    ``keyframes_only`` the decoder skips every other frame, which is several times faster, and each sampling
    time gets the next keyframe: as dense as the sampling only where keyframes are. A picture larger than
    ``max_pixels`` (a stream may change its size midway) stops decoding with ``PictureTooLarge`` (or, far
    larger, FFmpeg's own ``av.FFmpegError``)."""
    with open_video(source, max_pixels=max_pixels) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if keyframes_only:
            stream.codec_context.skip_frame = "NONKEY"
        time_base = stream.time_base or Fraction(1, av.time_base)
        if start > 0:
            container.seek(int(start / time_base), stream=stream, backward=True, any_frame=False)
        wanted = start
        for frame in within_limit(container.decode(stream), max_pixels=max_pixels):
            if frame.pts is None:
                continue
            at = float(frame.pts * time_base) - _start_time(stream)
            if at >= end:
                break
            if at + 1e-6 < wanted:
                continue
            yield Frame(at=round(at, 3), rgb=frame.to_ndarray(format="rgb24"))
            while wanted <= at + 1e-6:
                wanted += every


def _start_time(stream: Any) -> float:
    return float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0


def _is_picture(demuxer: str) -> bool:
    return demuxer in PICTURE_DEMUXERS or demuxer.endswith("_pipe")


def _duration(container: Any, stream: Any) -> float:
    if stream.duration is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration / av.time_base)
    return float(Fraction(stream.frames or 0, 1) / (stream.average_rate or 1))
