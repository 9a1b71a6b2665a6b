"""Fault drills: a batch goes through the real system (worker and beat processes, Redis, the database, a
receiving endpoint) while something breaks, and nothing is lost.

Each drill uploads a batch, injects its fault, lets the system recover on its own (the sweepers run every
second here, as beat would run them every minute), and asserts on counts: every image done with exactly
one set of results, and the endpoint saw every delivery's idempotency key (the raw number of POSTs, which
retries may raise, is printed beside).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from facesite.devredis import free_port, start_private_redis
from integrations.models import Delivery, Endpoint
from recognition.models import Face, Image
from recognition.services.ingest import image_ingest
from tests import images
from tests.helpers import end_other_database_sessions, wait_for
from tests.receiver import Receiver
from tests.workers import ROOT, BeatProcess, WorkerProcess, child_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BATCH = 6
# The sweepers every second, and everything they wait for short: recovery in seconds, not minutes.
QUICK = {
    "FACESITE_SWEEP_INTERVAL": "1",
    "FACESITE_PENDING_RETRY_AFTER": "3",
    "CELERY_TASK_TIME_LIMIT": "10",
    "FACESITE_PROCESSING_STALE_AFTER": "11",
    "CELERY_VISIBILITY_TIMEOUT": "60",
    "FACESITE_DELIVERY_LOST_AFTER": "2",
    "FACESITE_DELIVERY_BACKOFF_BASE": "0.5",
    "FACESITE_DELIVERY_BACKOFF_MIN": "0.2",
    "FACESITE_DELIVERY_BACKOFF_MAX": "2",
}


class System:
    """Worker and beat processes for one drill, stopped at the end."""

    def __init__(self, media_root: Path, logs: Path, **env: str):
        self.env = child_env(media_root=media_root, engine_options={"delay": 0.4}, **QUICK, **env)
        self.logs = logs
        self.workers: list[WorkerProcess] = []
        self.beat = BeatProcess(env=self.env, log_path=logs / "beat.log")
        self.start_worker()

    def start_worker(self) -> WorkerProcess:
        worker = WorkerProcess(env=self.env, log_path=self.logs / f"worker-{len(self.workers)}.log")
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for process in [*self.workers, self.beat]:
            process.stop()


@pytest.fixture
def system(media_root, tmp_path):
    running: list[System] = []

    def start(**env: str) -> System:
        running.append(System(media_root, tmp_path, **env))
        return running[-1]

    yield start
    for each in running:
        each.stop()


@pytest.fixture
def endpoint_at(db, settings):
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]

    def make(port: int) -> Endpoint:
        return Endpoint.objects.create(
            name="ERP", url=f"http://127.0.0.1:{port}/events", secret="s3cret-shared", timeout_seconds=3,
            events=["image.analysed"],
        )  # fmt: skip

    return make


@pytest.fixture
def receiver_up():
    started: list[Receiver] = []

    def start(port: int = 0) -> Receiver:
        started.append(Receiver(port).start())
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


def upload(count: int, seed: int) -> list:
    return [image_ingest(data=images.jpeg((120, 90), seed=seed + i)).pk for i in range(count)]


def done(ids: list) -> int:
    return Image.objects.filter(pk__in=ids, status=Image.Status.DONE).count()


def settle(ids: list, timeout: float = 50) -> None:
    wait_for(
        lambda: (
            done(ids) == len(ids)
            and Delivery.objects.filter(image_id__in=ids, status=Delivery.Status.DELIVERED).count() == len(ids)
        ),
        timeout=timeout,
    )


def assert_nothing_lost(drill: str, injected: str, ids: list, receivers: list[Receiver]) -> None:
    results = Counter(str(pk) for pk in Face.objects.filter(image_id__in=ids).values_list("image_id", flat=True))
    deliveries = Delivery.objects.filter(image_id__in=ids)
    delivered = deliveries.filter(status=Delivery.Status.DELIVERED).count()
    posts = [r for receiver in receivers for r in receiver.received]
    keys = Counter(r.headers.get("Facesite-Idempotency-Key") for r in posts)
    print(
        f"\n[{drill}] injected: {injected}. {len(ids)} images uploaded, {done(ids)} done, "
        f"{sum(results.values())} result sets; {delivered} of {deliveries.count()} deliveries delivered; "
        f"the endpoint saw {len(posts)} POSTs carrying {len(keys)} distinct idempotency keys."
    )
    assert done(ids) == len(ids)
    assert all(results[str(pk)] == 1 for pk in ids), "each image has exactly one set of results"
    assert delivered == deliveries.count() == len(ids), "one delivery per image, every one delivered"
    assert set(keys) == {d.idempotency_key for d in deliveries}, "the endpoint heard of every image"


def test_a_worker_killed_mid_batch(system, endpoint_at, receiver_up):
    receiver = receiver_up()
    endpoint_at(receiver.server.server_address[1])
    drill = system()
    ids = upload(BATCH, seed=100)
    wait_for(lambda: done(ids) >= 2, timeout=30)
    drill.workers[0].kill_hard()
    drill.start_worker()
    settle(ids)
    assert_nothing_lost("worker killed", "SIGKILL to a worker and its pool after 2 images", ids, [receiver])


def test_redis_restarted_mid_batch(system, endpoint_at, receiver_up, tmp_path, media_root):
    receiver = receiver_up()
    endpoint_at(receiver.server.server_address[1])
    port = free_port()
    redis = start_private_redis(port, tmp_path / "redis")
    broker = f"redis://127.0.0.1:{port}/0"
    drill = system(REDIS_URL=broker)
    # The uploads go to that Redis too: from a process configured like the web.
    script = (
        "from recognition.services.ingest import image_ingest; from tests import images; "
        f"print('IDS', *(image_ingest(data=images.jpeg((120, 90), seed=200 + i)).pk for i in range({BATCH})))"
    )
    uploaded = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=drill.env,
                              capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    [line] = [line for line in uploaded.stdout.splitlines() if line.startswith("IDS ")]
    ids = line.split()[1:]
    assert len(ids) == BATCH
    wait_for(lambda: done(ids) >= 2, timeout=30)
    redis.kill()  # everything it held (queued messages, unacknowledged ones) is gone: it keeps nothing on disk
    redis.wait(10)
    time.sleep(1)
    redis = start_private_redis(port, tmp_path / "redis")
    try:
        settle(ids)
    finally:
        redis.terminate()
        redis.wait(10)
    assert_nothing_lost("Redis restarted", "Redis killed after 2 images and started again empty", ids, [receiver])


def test_the_endpoint_down_for_the_first_part_of_a_batch(system, endpoint_at, receiver_up):
    port = free_port()
    endpoint_at(port)  # nothing listens there yet: connection refused
    drill = system()
    ids = upload(BATCH, seed=300)
    wait_for(lambda: done(ids) >= 3, timeout=30)
    failed = Delivery.objects.filter(image_id__in=ids, attempts__gte=1).exclude(status=Delivery.Status.DELIVERED)
    wait_for(lambda: failed.exists(), timeout=20)
    receiver = receiver_up(port)
    settle(ids)
    assert drill.workers[0].process.poll() is None
    assert_nothing_lost("endpoint down", "the endpoint refused connections until 3 images were done", ids, [receiver])


def test_database_connections_dropped_mid_task(system, endpoint_at, receiver_up):
    if connection.vendor != "postgresql":
        pytest.skip("drops connections with PostgreSQL's pg_terminate_backend (CI runs this on PostgreSQL)")
    receiver = receiver_up()
    endpoint_at(receiver.server.server_address[1])
    system()
    ids = upload(BATCH, seed=400)
    terminated = 0
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and done(ids) < len(ids):
        terminated += end_other_database_sessions()
        time.sleep(0.5)
    settle(ids)
    assert terminated, "the drill cut some connection"
    assert_nothing_lost(
        "database connections dropped", f"{terminated} connections terminated while the batch ran", ids, [receiver]
    )


@pytest.fixture
def small_disk(tmp_path):
    """A real 64 KiB file system (tmpfs) to store media on; needs root, as CI has."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True,
                          text=True, check=False)  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small file system here ({made.stderr.strip() or 'not root'})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_storage_failing_on_upload(fault, small_disk, settings, api_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(small_disk)}},
    }
    photo = images.jpeg((640, 480), seed=500)
    if fault == "full":
        (small_disk / "filler").write_bytes(os.urandom(64 * 1024 - len(photo) // 2))  # room for half the photo
    else:
        subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    files_before = stored_files(small_disk)

    response = api_client.post("/api/images/", {"file": SimpleUploadedFile("p.jpg", photo)})
    body = response.json()
    print(f"\n[storage {fault}] upload answered {response.status_code}: {body}")
    assert response.status_code == 503 and response["Retry-After"]
    assert body["code"] == "storage_unavailable"
    reason = "No space left on device" if fault == "full" else "Read-only file system"
    assert reason in body["detail"] and "nothing was kept" in body["detail"]
    assert not Image.objects.exists(), "no row without its file"
    assert stored_files(small_disk) == files_before, "no partly written file left behind"


def test_an_erased_persons_photo_that_storage_will_not_delete_yet_is_deleted_once_it_will(
    small_disk, settings, celery_worker, monkeypatch
):
    from recognition.services import files
    from recognition.services.erasure import person_erase
    from recognition.services.people import person_enroll
    from tests.factories import PersonFactory

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(small_disk)}},
    }
    monkeypatch.setattr(files, "DELETE_AGAIN_SECONDS", 1)  # the task's first wait; later ones double from it
    person = PersonFactory()
    person_enroll(person=person, data=images.jpeg((200, 150), seed=510))
    [photo] = stored_files(small_disk)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)

    person_erase(person=person)  # answers at once: the rows are gone, the file waits for the storage
    assert not Face.objects.exists() and stored_files(small_disk) == {photo}
    time.sleep(1.5)  # the task's first try, 1 s later, meets the read-only disk too
    assert stored_files(small_disk) == {photo}
    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    wait_for(lambda: not stored_files(small_disk), timeout=20)
    print(f"\n[storage read-only] erased person's photo {photo} deleted once the disk took deletes again")


def stored_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_a_full_disk_serves_thumbnails_uncached_and_keeps_no_partly_written_one(small_disk, settings):
    from PIL import Image as PILImage

    from recognition.services import thumbnails

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(small_disk)}},
    }
    image = image_ingest(data=images.jpeg((400, 300), seed=502))
    filler = small_disk / "filler"
    with filler.open("wb", buffering=0) as fh, pytest.raises(OSError, match="No space left"):
        while True:  # every last block taken
            fh.write(b"\0" * 1024)
    files_before = stored_files(small_disk)

    served = thumbnails.image_thumbnail(image, size=800)
    print(f"\n[storage full] thumbnail served uncached: {len(served)} bytes")
    assert PILImage.open(io.BytesIO(served)).size == (400, 300)
    assert stored_files(small_disk) == files_before, "no thumbnail, whole or partly written, kept"

    filler.unlink()  # room again: the next request keeps it
    assert thumbnails.image_thumbnail(image, size=800) == served
    assert f"thumbs/{image.pk}-800.jpg" in stored_files(small_disk)


def test_a_full_disk_puts_a_video_chunk_back_and_it_is_analysed_once_there_is_room(small_disk, settings, local_engine):
    from tests.clips import video
    from videos.analysis import video_chunk_analyse, video_finish, video_start
    from videos.models import Video, VideoChunk
    from videos.services import video_upload

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(small_disk)}},
    }
    two_people = video([("obama.jpg", 1.0), ("biden.jpg", 1.0)], size=(160, 120))
    uploaded = video_upload(file=io.BytesIO(two_people), filename="door.mp4")
    video_start(video_id=str(uploaded.pk))
    [chunk] = VideoChunk.objects.filter(video=uploaded)
    filler = small_disk / "filler"
    with filler.open("wb", buffering=0) as fh, pytest.raises(OSError, match="No space left"):
        while True:
            fh.write(b"\0" * 1024)
    os.truncate(filler, filler.stat().st_size - 8 * 1024)  # room for the first best frame (6.3 KB), not both
    files_before = stored_files(small_disk)

    video_chunk_analyse(chunk_id=chunk.pk)  # two faces found: the first frame is kept, the second cannot be
    chunk.refresh_from_db()
    uploaded.refresh_from_db()
    print(f"\n[storage full] video chunk after its first try: {chunk.status}, video {uploaded.status}")
    assert chunk.status == VideoChunk.Status.PENDING and uploaded.status == Video.Status.PROCESSING
    assert stored_files(small_disk) == files_before, "no frame kept: not the first, nor part of the second"

    filler.unlink()
    video_chunk_analyse(chunk_id=chunk.pk)
    video_finish(video_id=str(uploaded.pk))
    uploaded.refresh_from_db()
    assert uploaded.status == Video.Status.DONE and uploaded.sightings.count() == 2
