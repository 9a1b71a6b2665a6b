"""Videos made in the test with PyAV (real H.264 or VP9 files from the fixture photos), and analysed here."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
from PIL import Image, ImageOps

from tests.images import FIXTURES

GREY = (90, 90, 90)


def video(
    segments: list[tuple[str | None, float]], *, fps: int = 10, size: tuple[int, int] = (640, 480),
    container: str = "mp4", codec: str = "libx264", noise: float = 0.0, keyframe_every: int | None = None,
) -> bytes:  # fmt: skip
    """One fixture photo (or a grey picture for None) after another, each for its seconds; with ``noise``, new
    sensor-like noise of that standard deviation in every frame, so each frame costs what camera footage does."""
    rng = np.random.default_rng(0)
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as file:
        stream = file.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        if keyframe_every:
            stream.codec_context.gop_size = keyframe_every
            stream.options = {"keyint_min": str(keyframe_every), "sc_threshold": "0"}
        for name, seconds in segments:
            picture = (
                ImageOps.pad(Image.open(FIXTURES / name).convert("RGB"), size, color=GREY)
                if name
                else Image.new("RGB", size, GREY)
            )
            pixels = np.asarray(picture)
            for _ in range(round(seconds * fps)):
                shown = pixels
                if noise:
                    grain = rng.normal(0.0, noise, (*pixels.shape[:2], 1))
                    shown = np.clip(pixels + grain, 0, 255).astype(np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(shown, format="rgb24")):
                    file.mux(packet)
        for packet in stream.encode():
            file.mux(packet)
    return out.getvalue()


def passing(name: str, *, frames: int = 12, fps: int = 2, size: tuple[int, int] = (1280, 720)) -> bytes:
    """A fixture photo as a camera passing it sees it: each frame a little further along and closer."""
    photo = Image.open(FIXTURES / name).convert("RGB")
    width, height = photo.size
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as file:
        stream = file.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for index in range(frames):
            scale = 1.0 - 0.02 * index
            seen_w, seen_h = int(width * scale), int(height * scale)
            left, top = (width - seen_w) * index // frames, (height - seen_h) // 2
            seen = photo.crop((left, top, left + seen_w, top + seen_h)).resize(size)
            for packet in stream.encode(av.VideoFrame.from_image(seen)):
                file.mux(packet)
        for packet in stream.encode():
            file.mux(packet)
    return out.getvalue()


def growing(small: tuple[int, int], large: tuple[int, int], *, fps: int = 2) -> bytes:
    """An MKV whose H.264 pictures are ``small`` for 8 s (past what a first look at the streams reads), then
    ``large`` for 2 s: the size in its header is the small one, and the large one comes with new parameter
    sets in the stream, as a camera's stream may change resolution midway."""
    raw = _h264(small, frames=8 * fps, fps=fps) + _h264(large, frames=2 * fps, fps=fps)
    out = io.BytesIO()
    with av.open(io.BytesIO(raw), format="h264") as source, av.open(out, mode="w", format="matroska") as file:
        stream = file.add_stream_from_template(source.streams.video[0])
        for index, packet in enumerate(p for p in source.demux() if p.size):
            packet.stream, packet.time_base = stream, Fraction(1, 1000)
            packet.pts = packet.dts = index * 1000 // fps
            packet.duration = 1000 // fps
            file.mux(packet)
    return out.getvalue()


def _h264(size: tuple[int, int], *, frames: int, fps: int) -> bytes:
    """Raw H.264 (Annex B) with its parameter sets before every keyframe, of grey frames."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="h264") as file:
        stream = file.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"x264-params": "repeat-headers=1:keyint=2"}
        picture = np.asarray(Image.new("RGB", size, GREY))
        for _ in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                file.mux(packet)
        for packet in stream.encode():
            file.mux(packet)
    return out.getvalue()


def sound_only(seconds: float = 1.0) -> bytes:
    """An MP4 with an AAC sound track and no picture."""
    out = io.BytesIO()
    rate = 16_000
    with av.open(out, mode="w", format="mp4") as file:
        stream = file.add_stream("aac", rate=rate)
        samples = (np.sin(np.arange(int(rate * seconds)) * 0.05) * 0.3).astype(np.float32)
        for start in range(0, samples.size, 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, start : start + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            for packet in stream.encode(frame):
                file.mux(packet)
        for packet in stream.encode():
            file.mux(packet)
    return out.getvalue()


def analysed_here(uploaded):
    """What the video tasks do, in this process: start, every chunk, finish; the video reloaded."""
    from videos.analysis import video_chunk_analyse, video_finish, video_start
    from videos.models import VideoChunk

    video_start(video_id=str(uploaded.pk))
    for chunk in VideoChunk.objects.filter(video=uploaded):
        video_chunk_analyse(chunk_id=chunk.pk)
    video_finish(video_id=str(uploaded.pk))
    uploaded.refresh_from_db()
    return uploaded
