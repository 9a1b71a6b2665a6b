"""Live cameras: the one-frame buffer that drops instead of queuing, an HTTP camera (MJPEG) and an RTSP camera
(H.264, with credentials) served by real servers on loopback at their own pace and watched with the real local
engine, a camera that cannot be reached or refuses the password, and the camera's credentials kept encrypted."""

import contextlib
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from socketserver import ThreadingTCPServer

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from lxml import etree
from PIL import Image, ImageOps

from backoffice import roles
from integrations.models import Delivery, Endpoint
from integrations.xml import image_event, schema
from recognition.models import AuditEvent, Collection, Face
from recognition.models import Image as ImageRow
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from recognition.services.stored import StoredResults
from tests import clips, images, rtsp_server
from tests.conftest import client_for
from tests.factories import PersonFactory, UserFactory
from tests.helpers import end_other_database_sessions, wait_for, without_creation_time
from tests.images import FIXTURES, encode
from videos.live import CameraWatch, LatestFrame
from videos.models import Camera, Sighting

pytestmark = pytest.mark.django_db(transaction=True)
NS = "{urn:facesite:event:1}"


class MjpegCamera:
    """An HTTP camera as many IP cameras are: an endless multipart/x-mixed-replace stream of JPEG frames, sent
    as they are taken (here: the scenes given, at ``fps``), to one viewer; later requests get 404."""

    def __init__(self, scenes: list[tuple[str | None, float]], *, fps: int = 10):
        frames = [picture(name) for name, seconds in scenes for _ in range(round(seconds * fps))]
        served = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if served.is_set():
                    self.send_error(404)
                    return
                served.set()
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace;boundary=frame")
                self.end_headers()
                for frame in frames:
                    head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(frame)
                    self.wfile.write(head + frame + b"\r\n")
                    self.wfile.flush()
                    time.sleep(1 / fps)

            def log_message(self, *args):
                pass

        self.server = ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/video.mjpg"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def picture(name: str | None) -> bytes:
    size = (640, 480)
    shown = ImageOps.pad(Image.open(FIXTURES / name).convert("RGB"), size) if name else Image.new("RGB", size, "grey")
    return encode(shown, "JPEG", quality=90)


def camera(url: str, **fields) -> Camera:
    cam = Camera(name=fields.pop("name", "lobby"), location="Lobby", collection=Collection.get_default(), **fields)
    cam.stream_url = url
    cam.save()
    return cam


def test_the_buffer_holds_one_frame_and_counts_what_it_drops():
    slot = LatestFrame()
    taken = []
    for n in range(100):
        slot.put(n * 0.04, n)
        if n % 25 == 0:
            taken.append(slot.take(timeout=0))
        assert slot.held <= 1
    assert [t[1] for t in taken] == [0, 25, 50, 75]
    assert slot.take(timeout=0) == (99 * 0.04, 99), "the newest frame is the one kept"
    assert slot.received == 100 and slot.dropped == 100 - 5
    assert slot.take(timeout=0.01) is None


def test_a_live_stream_is_watched_and_a_person_who_leaves_is_a_sighting_told_to_endpoints(local_engine, receiver):
    obama = PersonFactory(name="Barack Obama")
    person_enroll(person=obama, data=(FIXTURES / "obama3.jpg").read_bytes())
    Endpoint.objects.create(name="Guard desk", url=receiver.url, secret="k",
                            events=["image.analysed", "person.identified", "video.analysed"])  # fmt: skip
    stream = MjpegCamera([("obama.jpg", 2.5), (None, 2.5)])
    lines = []
    try:
        watched = camera(stream.url)
        report = CameraWatch(watched, say=lines.append).run(threading.Event(), seconds=7.0)
    finally:
        stream.close()
    (sighting,) = report.sightings
    assert sighting.person == obama and sighting.camera == watched and sighting.video is None
    assert sighting.seen_at is not None and sighting.last_at - sighting.first_at >= 1.0
    assert sighting.frame.source == "video" and sighting.face.person == obama
    assert report.analysed >= 8 and report.received > report.analysed, "frames beyond the sampling rate are dropped"
    assert report.dropped >= report.received - report.analysed - 1
    watched.refresh_from_db()
    assert watched.connected_at is not None
    assert "Connected." in lines and "Seen: Barack Obama" in " ".join(lines)

    told = {delivery.event: delivery for delivery in Delivery.objects.filter(image=sighting.frame)}
    assert set(told) == {"image.analysed", "person.identified"}, "at once, not when the camera stops"
    document = etree.fromstring(told["person.identified"].payload.encode())
    schema().assertValid(document)
    (person,) = document.iter(f"{NS}person")
    (where,) = document.iter(f"{NS}camera")
    assert person.get("name") == "Barack Obama"
    assert where.get("name") == "lobby" and where.get("location") == "Lobby" and float(where.get("seconds")) >= 1.0
    frame, told_of = sighting.frame, told["person.identified"]
    rebuilt = image_event(frame, StoredResults.read(frame), event=told_of.event, key=told_of.idempotency_key).decode()
    assert without_creation_time(rebuilt) == without_creation_time(told_of.payload), "what was told is what is kept"


@pytest.fixture
def rtsp_camera(tmp_path):
    """Starts an RTSP camera (tests/rtsp_server.py) showing the scenes given, 10 frames a second."""
    if not rtsp_server.available():
        pytest.skip(f"no RTSP server to watch here: it needs {rtsp_server.NEEDS} (make test installs them as root)")
    started = []

    def start(scenes: list[tuple[str | None, float]], *, credentials: str | None = None) -> rtsp_server.RtspCamera:
        started.append(rtsp_server.RtspCamera(clips.video(scenes, fps=10), tmp_path, credentials=credentials))
        return started[-1]

    yield start
    for server in started:
        server.close()


def test_an_rtsp_camera_is_watched_with_its_credentials(local_engine, rtsp_camera):
    obama = PersonFactory(name="Barack Obama")
    person_enroll(person=obama, data=(FIXTURES / "obama3.jpg").read_bytes())
    stream = rtsp_camera([("obama.jpg", 2.5), (None, 5.0)], credentials="viewer:s3cret")
    gate = camera(stream.url, name="gate")
    lines = []
    report = CameraWatch(gate, say=lines.append).run(threading.Event(), seconds=6.0)  # before the stream ends
    (sighting,) = report.sightings
    assert sighting.person == obama and sighting.camera == gate and sighting.last_at - sighting.first_at >= 1.0
    assert report.analysed >= 8 and report.received >= 40, "H.264 over RTSP, at the camera's pace"
    gate.refresh_from_db()
    assert gate.connected_at is not None and "Connected." in lines


def test_an_rtsp_camera_refusing_the_password_says_so(local_engine, rtsp_camera):
    stream = rtsp_camera([("obama.jpg", 5.0)], credentials="viewer:s3cret")
    gate = camera(stream.url.replace("s3cret", "wrong"), name="gate")
    report = CameraWatch(gate, say=lambda line: None).run(threading.Event(), seconds=2.0)
    assert report.received == 0 and report.sightings == []
    gate.refresh_from_db()
    assert gate.connected_at is None and "401 Unauthorized" in gate.error, gate.error


def test_a_database_connection_dropped_while_watching_is_replaced_and_no_sighting_is_lost(local_engine):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL, whose sessions can be ended from here")
    obama = PersonFactory(name="Barack Obama")
    person_enroll(person=obama, data=(FIXTURES / "obama3.jpg").read_bytes())
    stream = MjpegCamera([("obama.jpg", 2.5), (None, 2.5)])
    watched = camera(stream.url)

    def restart_the_database_connections():  # as a server restart or a failover would, while the face is in view
        wait_for(lambda: Camera.objects.filter(pk=watched.pk, connected_at__isnull=False).exists(), timeout=10)
        end_other_database_sessions()
        connection.close()

    meanwhile = threading.Thread(target=restart_the_database_connections)
    try:
        meanwhile.start()
        report = CameraWatch(watched, say=lambda line: None).run(threading.Event(), seconds=7.0)
    finally:
        meanwhile.join()
        stream.close()
    (sighting,) = report.sightings
    assert Sighting.objects.get(pk=sighting.pk).person == obama


def test_a_cameras_sightings_are_listed_newest_first_by_time_and_person_and_the_reading_audited():
    gate = camera("rtsp://192.0.2.1/stream", name="gate")
    other = camera("rtsp://192.0.2.2/stream", name="yard")
    ada = PersonFactory(name="Ada Lovelace")
    start = timezone.now() - timedelta(hours=3)
    for hours, who, where in [(0, ada, gate), (1, None, gate), (2, ada, gate), (2, ada, other)]:
        Sighting.objects.create(camera=where, person=who, seen_at=start + timedelta(hours=hours), first_at=0,
                                last_at=2, best_at=1)  # fmt: skip
    viewer = client_for(UserFactory(role=roles.REVIEWER))
    url = f"/api/cameras/{gate.pk}/sightings/"

    def seen(**query) -> list[tuple[float, str | None]]:
        answer = viewer.get(url, query)
        assert answer.status_code == 200, answer.content
        return [(round((parse_datetime(s["seen_at"]) - start).total_seconds() / 3600), (s["person"] or {}).get("name"))
                for s in answer.json()["results"]]  # fmt: skip

    assert seen() == [(2, "Ada Lovelace"), (1, None), (0, "Ada Lovelace")], "this camera's, newest first"
    assert seen(person=str(ada.pk)) == [(2, "Ada Lovelace"), (0, "Ada Lovelace")]
    assert seen(identified="false") == [(1, None)]
    assert seen(identified="no") == seen(identified="0") == [(1, None)]
    assert seen(identified="yes") == seen(identified="1") == [(2, "Ada Lovelace"), (0, "Ada Lovelace")]
    assert viewer.get(url, {"identified": "maybe"}).status_code == 400, "not every sighting, as if not asked"
    window = {
        "seen_after": (start + timedelta(minutes=30)).isoformat(),
        "seen_before": (start + timedelta(hours=2)).isoformat(),
    }
    assert seen(**window) == [(1, None)]
    first_page = viewer.get(url, {"page_size": 2}).json()
    assert first_page["count"] == 3 and len(first_page["results"]) == 2 and first_page["next"]

    assert viewer.get(url, {"seen_after": "yesterday"}).status_code == 400
    assert viewer.get("/api/cameras/999999/sightings/").status_code == 404
    assert viewer.get("/api/cameras/gate/sightings/").status_code == 404
    assert client_for(UserFactory()).get(url).status_code == 403, "no role, no sightings"
    audited = AuditEvent.objects.filter(action="camera.view", object_id=str(gate.pk))
    assert audited.filter(details__query="identified=false").exists(), "who looked for whom is recorded"


def test_a_camera_that_cannot_be_reached_is_retried_and_says_why(local_engine):
    unreachable = camera("http://127.0.0.1:9/camera.ts")
    report = CameraWatch(unreachable, say=lambda line: None).run(threading.Event(), seconds=1.5)
    assert report.analysed == 0 and report.sightings == []
    unreachable.refresh_from_db()
    assert unreachable.error.startswith("The stream could not be read:") and unreachable.connected_at is None


def test_the_worker_command_names_the_cameras_it_knows():
    camera("rtsp://192.0.2.1/stream", name="gate")
    with pytest.raises(CommandError, match="No camera is named 'door' \\(cameras: gate\\)"):
        call_command("watch_camera", "door")


def test_deleting_a_camera_takes_its_sightings_and_their_frames_and_is_audited():
    gate = camera("rtsp://viewer:s3cret-pass@192.0.2.7:554/stream1", name="gate")
    frame = image_analyse(image_id=image_ingest(data=images.jpeg((160, 120), seed=5)).pk)
    Sighting.objects.create(camera=gate, seen_at=timezone.now(), face=frame.faces.get(), frame=frame,
                            first_at=0, last_at=1, best_at=0)  # fmt: skip
    admin = Client()
    admin.force_login(UserFactory(username="dana", is_staff=True, role=roles.ADMINISTRATOR))
    response = admin.post(reverse("admin:videos_camera_delete", args=[gate.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Camera.objects.exists() and not Sighting.objects.exists()
    assert not ImageRow.objects.exists() and not Face.objects.exists(), "the frame and its face go too"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CAMERA_DELETE)
    assert (event.actor_name, event.details) == ("dana", {"name": "gate", "sightings": 1})
    assert AuditEvent.objects.filter(action=AuditEvent.Action.IMAGE_DELETE, actor_name="dana").count() == 1


def test_a_cameras_credentials_are_stored_encrypted_and_never_shown():
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, role=roles.ADMINISTRATOR))
    response = admin.post(reverse("admin:videos_camera_add"), {
        "name": "gate", "location": "Gate", "collection": Collection.get_default().pk, "sample_rate": "2",
        "active": "on", "stream": "rtsp://viewer:s3cret-pass@192.0.2.7:554/stream1",
    })  # fmt: skip
    assert response.status_code == 302, response.content
    gate = Camera.objects.get(name="gate")
    assert "s3cret-pass" not in gate.stream_url_sealed and gate.stream_url.endswith("@192.0.2.7:554/stream1")
    listing = admin.get(reverse("admin:videos_camera_changelist")).content.decode()
    assert "rtsp://192.0.2.7:554/stream1" in listing and "s3cret-pass" not in listing
    refused = admin.post(reverse("admin:videos_camera_add"), {
        "name": "yard", "collection": Collection.get_default().pk, "sample_rate": "2", "stream": "file:///etc/passwd",
    })  # fmt: skip
    assert "Give an rtsp://" in refused.content.decode()


def test_the_api_lists_cameras_with_their_latest_sightings_and_no_credentials(local_engine):
    from tests.conftest import client_for

    obama = PersonFactory(name="Barack Obama")
    person_enroll(person=obama, data=(FIXTURES / "obama3.jpg").read_bytes())
    stream = MjpegCamera([("obama.jpg", 2.0), (None, 1.5)])
    try:
        lobby = camera(stream.url.replace("http://", "http://viewer:s3cret@"))
        CameraWatch(lobby, say=lambda line: None).run(threading.Event(), seconds=5.0)
    finally:
        stream.close()
    api = client_for(UserFactory(role=roles.REVIEWER))
    listing = api.get("/api/cameras/")
    assert listing.status_code == 200 and "s3cret" not in listing.content.decode()
    detail = api.get(f"/api/cameras/{lobby.pk}/").json()
    assert detail["stream"].startswith("http://127.0.0.1:") and detail["connected_at"]
    assert [s["person"]["name"] for s in detail["sightings"]] == ["Barack Obama"] and detail["sightings"][0]["seen_at"]
    assert client_for(UserFactory()).get("/api/cameras/").status_code == 403


@pytest.mark.parametrize("served", ["rtsp", "file"])
def test_a_camera_whose_pictures_grow_past_the_limit_is_not_decoded_past_it(settings, tmp_path, served):
    from videos.live import StreamState, read_stream

    settings.FACESITE_VIDEO_MAX_PIXELS = 160 * 120
    video = clips.growing((160, 120), (640, 480))
    slot, state, stop = LatestFrame(), StreamState(), threading.Event()
    with contextlib.ExitStack() as cleanup:
        if served == "rtsp":
            if not rtsp_server.available():
                pytest.skip(f"no RTSP server to watch here: it needs {rtsp_server.NEEDS} (make test installs them)")
            camera = rtsp_server.RtspCamera(video, tmp_path, container="mkv")
            cleanup.callback(camera.close)
            url = camera.url
        else:  # the same stream read from a file, as a camera's is: the limit is the reader's, whatever the source
            (tmp_path / "camera.mkv").write_bytes(video)
            url = str(tmp_path / "camera.mkv")
        reader = threading.Thread(target=read_stream, args=(url, slot, state, stop, time.monotonic()))
        reader.start()
        cleanup.callback(reader.join, 10)
        cleanup.callback(stop.set)
        assert wait_for(lambda: state.error, timeout=20)
    assert state.error == (
        "The stream could not be read: its pictures grow to 640×480 pixels, above the limit of 19,200 pixels a picture"
    )
    _, last = slot.take(timeout=1)
    assert last.width == 160 and slot.received == 16, "the 8 s of pictures before, within the limit, were read"
