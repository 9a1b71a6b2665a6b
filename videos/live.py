"""Live cameras: a worker per camera reads the stream and analyses the newest frame at the camera's sampling
rate. Frames that arrive while it is busy are dropped, never queued: the reader keeps one frame, the newest,
so a slow machine falls behind by dropping frames, not by growing a backlog. Faces are followed as in
recorded video; a face gone from the picture becomes a sighting."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import av
from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from recognition.engine_handler import get_engine
from recognition.engines.base import BaseEngine
from videos.media import PictureTooLarge, open_video, within_limit
from videos.models import Camera, Sighting
from videos.sightings import jpeg, sighting_record
from videos.tracking import Track, Tracker

logger = logging.getLogger(__name__)
OPEN_TIMEOUT = 10.0  # seconds to connect, and to wait for data once connected
RETRY_MAX = 30.0  # seconds between reconnections at most


class LatestFrame:
    """One slot: a new frame replaces one not taken yet (counted as dropped)."""

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._frame: tuple[float, Any] | None = None
        self.received = 0
        self.dropped = 0

    def put(self, at: float, frame: Any) -> None:
        with self._ready:
            if self._frame is not None:
                self.dropped += 1
            self._frame = (at, frame)
            self.received += 1
            self._ready.notify()

    def take(self, timeout: float) -> tuple[float, Any] | None:
        with self._ready:
            if self._frame is None:
                self._ready.wait(timeout)
            frame, self._frame = self._frame, None
            return frame

    @property
    def held(self) -> int:
        return 0 if self._frame is None else 1


@dataclass
class StreamState:
    """What the reader thread tells the watcher (which alone writes to the database)."""

    connected: bool = False
    error: str = ""
    changed: threading.Event = field(default_factory=threading.Event)

    def set(self, *, connected: bool, error: str = "") -> None:
        self.connected, self.error = connected, error
        self.changed.set()


def read_stream(url: str, slot: LatestFrame, state: StreamState, stop: threading.Event, started: float) -> None:
    """Read ``url`` into ``slot`` until ``stop``; reconnect after a failure or the end of the stream, waiting
    longer each time (1 s, 2 s, … ``RETRY_MAX``)."""
    delay = 1.0
    while not stop.is_set():
        try:
            options = {
                "rtsp_transport": "tcp",
                "timeout": str(int(OPEN_TIMEOUT * 1e6)),
                # Live, not a file: start from little data. Not "fflags nobuffer": it throws away the packets
                # read while probing, and with them H.264's first keyframe, so nothing decodes until the next
                # one (seconds on many cameras; never, on a stream that sends one keyframe).
                "probesize": "65536",
                "analyzeduration": "500000",
            }
            limit = settings.FACESITE_VIDEO_MAX_PIXELS
            with open_video(url, max_pixels=limit, options=options, timeout=OPEN_TIMEOUT) as container:
                state.set(connected=True)
                delay = 1.0
                for frame in within_limit(container.decode(video=0), max_pixels=limit):
                    if stop.is_set():
                        return
                    slot.put(time.monotonic() - started, frame)
            state.set(connected=False, error="The stream ended.")
        except (av.FFmpegError, OSError, IndexError, PictureTooLarge) as exc:
            state.set(connected=False, error=f"The stream could not be read: {getattr(exc, 'strerror', None) or exc}")
        stop.wait(delay)
        delay = min(delay * 2, RETRY_MAX)


@dataclass
class WatchReport:
    received: int = 0
    analysed: int = 0
    dropped: int = 0
    sightings: list[Sighting] = field(default_factory=list)


class CameraWatch:
    """Watches one camera until ``stop`` is set (or for ``seconds``); ``say`` gets a line on every change."""

    def __init__(self, camera: Camera, *, engine: BaseEngine | None = None, say: Callable[[str], None] = logger.info):
        self.camera = camera
        self.engine = engine or get_engine()
        self.say = say

    def run(self, stop: threading.Event, *, seconds: float | None = None) -> WatchReport:
        slot, state, report = LatestFrame(), StreamState(), WatchReport()
        started, started_at = time.monotonic(), timezone.now()
        every = 1.0 / self.camera.sample_rate
        tracker = Tracker.sampling(every)
        best_frames: dict[int, bytes] = {}
        reading = threading.Event()
        reader = threading.Thread(
            target=read_stream, args=(self.camera.stream_url, slot, state, reading, started), daemon=True,
            name=f"camera-{self.camera.name}",
        )  # fmt: skip
        reader.start()
        self.say(f"Watching {self.camera} at {self.camera.shown_url}, {self.camera.sample_rate:g} frames a second.")
        try:
            while not stop.is_set() and (seconds is None or time.monotonic() - started < seconds):
                tick = time.monotonic()
                self._status(state)
                taken = slot.take(timeout=every)
                if taken is not None:
                    at, frame = taken
                    data = jpeg(frame.to_ndarray(format="rgb24"))
                    for track, best in tracker.add(at, self.engine.detect_faces(data, attributes=False)):
                        if best:
                            best_frames[id(track)] = data
                    report.analysed += 1
                now = time.monotonic() - started
                for track in tracker.finished(now):
                    report.sightings.append(self._record(track, best_frames.pop(id(track)), started_at))
                stop.wait(max(0.0, every - (time.monotonic() - tick)))
        finally:
            reading.set()
            reader.join(timeout=OPEN_TIMEOUT + 1)
            for track in tracker.finished(float("inf")):
                report.sightings.append(self._record(track, best_frames.pop(id(track)), started_at))
            self._status(state)
            report.received, report.dropped = slot.received, slot.dropped
            close_old_connections()
        return report

    def _record(self, track: Track, frame_jpeg: bytes, started_at: Any) -> Sighting:
        close_old_connections()  # what a request or a task starts with: a connection the server dropped is replaced
        with transaction.atomic():
            sighting = sighting_record(
                track=track, frame_jpeg=frame_jpeg, collection=self.camera.collection, engine=self.engine,
                camera=self.camera, seen_at=started_at + timedelta(seconds=track.first_at),
            )  # fmt: skip
        who = sighting.person or "someone not enrolled"
        self.say(f"Seen: {who}, {track.last_at - track.first_at:.1f} s.")
        return sighting

    def _status(self, state: StreamState) -> None:
        if not state.changed.is_set():
            return
        state.changed.clear()
        close_old_connections()
        if state.connected:
            Camera.objects.filter(pk=self.camera.pk).update(connected_at=timezone.now(), error="")
            self.say("Connected.")
        else:
            Camera.objects.filter(pk=self.camera.pk).update(error=state.error)
            self.say(f"{state.error} Trying again.")
