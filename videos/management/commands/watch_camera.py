"""``manage.py watch_camera NAME``: the long-running worker of one live camera (one process per camera)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from videos.live import CameraWatch
from videos.models import Camera


class Command(BaseCommand):
    help = (
        "Watch a camera's live stream (RTSP or HTTP) until stopped (SIGTERM or Ctrl-C): the newest frame is "
        "analysed at the camera's sampling rate, others dropped; faces followed until they leave become sightings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The camera's name, as in the admin (Videos → Cameras).")
        parser.add_argument("--seconds", type=float, help="Stop after this long (default: run until stopped).")

    def handle(self, *args: Any, name: str, seconds: float | None, **options: Any) -> None:
        camera = Camera.objects.select_related("collection").filter(name=name).first()
        if camera is None:
            known = ", ".join(Camera.objects.values_list("name", flat=True)) or "none yet"
            raise CommandError(f"No camera is named {name!r} (cameras: {known}).")
        if not camera.active:
            raise CommandError(f"The camera {name!r} is switched off in the admin.")
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
        report = CameraWatch(camera, say=self.stdout.write).run(stop, seconds=seconds)
        self.stdout.write(
            f"Stopped: {report.received} frames received, {report.analysed} analysed, {report.dropped} dropped "
            f"while busy; {len(report.sightings)} sightings."
        )
