"""An RTSP camera for the live camera tests: GStreamer's RTSP server serving the H.264 track of an MP4 (or an
MKV, named ``*.mkv``) at its own pace, as an IP camera serves its stream, optionally behind a user name and
password.

    /usr/bin/python3 tests/rtsp_server.py PORT PATH FILE [USER:PASSWORD]

It prints ``ready`` once it listens. It runs on the system's Python, which has PyGObject (Debian's
python3-gi), with Debian's gir1.2-gst-rtsp-server-1.0 and gstreamer1.0-plugins-good (``make test`` installs
them where it can); ``available()`` says whether this machine can run it.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
NEEDS = "Debian's python3-gi, gir1.2-gst-rtsp-server-1.0 and gstreamer1.0-plugins-good"
CHECK = (
    "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
    "from gi.repository import Gst; Gst.init(None);"
    "assert all(Gst.ElementFactory.find(n) for n in ('qtdemux', 'matroskademux', 'h264parse', 'rtph264pay'))"
)


@functools.cache
def available() -> bool:
    """Whether the system's Python can run this server (asked once: it takes a second)."""
    if not Path(SYSTEM_PYTHON).exists():
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", CHECK], capture_output=True, timeout=60).returncode == 0


class RtspCamera:
    """This server in its own process, serving ``video`` (H.264 in MP4, or in MKV with ``container="mkv"``) from
    ``folder``; ``url`` carries the ``credentials`` (user:password) given, which the server then requires."""

    def __init__(self, video: bytes, folder: Path, *, credentials: str | None = None, container: str = "mp4"):
        from facesite.devredis import free_port

        file = folder / f"camera.{container}"
        file.write_bytes(video)
        port = free_port()
        self.process = subprocess.Popen(
            [SYSTEM_PYTHON, __file__, str(port), "/stream1", str(file), *([credentials] if credentials else [])],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None and self.process.stderr is not None
        if self.process.stdout.readline().strip() != "ready":
            self.process.kill()
            raise RuntimeError(f"The RTSP server did not start: {self.process.stderr.read()}")
        self.url = f"rtsp://{credentials + '@' if credentials else ''}127.0.0.1:{port}/stream1"

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def serve(port: str, path: str, file: str, credentials: str | None) -> None:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    demuxer = "matroskademux ! h264parse" if file.endswith(".mkv") else "qtdemux"
    factory.set_launch(f'( filesrc location="{file}" ! {demuxer} ! rtph264pay name=pay0 pt=96 config-interval=1 )')
    factory.set_shared(True)
    if credentials:
        user, password = credentials.split(":", 1)
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken.new()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
        factory.add_role_from_structure(
            Gst.Structure.from_string(
                "viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
            )[0]
        )
    server.get_mount_points().add_factory(path, factory)
    server.attach(None)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    serve(*sys.argv[1:4], sys.argv[4] if len(sys.argv) > 4 else None)
