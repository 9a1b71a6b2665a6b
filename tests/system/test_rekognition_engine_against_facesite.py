"""Both sides real: this Facesite runs the Rekognition engine (real boto3 over real HTTP), pointed with
AWS_ENDPOINT_URL_REKOGNITION at a second Facesite that serves the Rekognition-compatible API from its
local engine, in its own process with its own database: images, and a video in S3 that the second Facesite's
own worker searches (StartFaceSearch, GetFaceSearch)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from facesite.env import redis_database
from recognition.models import Face
from recognition.services.analysis import image_analyse
from recognition.services.erasure import person_erase
from recognition.services.files import file_s3_location
from recognition.services.ingest import image_ingest
from recognition.services.matching import faces_compare, faces_search, person_verify
from recognition.services.people import person_enroll
from tests.clips import analysed_here, video
from tests.conftest import S3_MEDIA_BUCKET
from tests.factories import PersonFactory
from tests.images import FIXTURES
from tests.servers import closed_port
from tests.workers import ROOT, WorkerProcess
from videos.models import Video
from videos.services import video_upload

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
REGION = "eu-west-1"


def photo(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def other_facesite(tmp_path):
    """A second Facesite: SQLite, local files, the local engine, serving on a loopback port."""
    yield from serving(tmp_path, {})


def serving(tmp_path: Path, extra: dict[str, str], *, worker: bool = False) -> Iterator[tuple[str, str, str, Path]]:
    """Start the second Facesite with ``extra`` in its environment (and a Celery worker of its own, where
    ``worker``); its API's URL, an access key and the server's log."""
    port = closed_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "facesite.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'other.sqlite3'}",
        "FACESITE_MEDIA_ROOT": str(tmp_path / "media"),
        "RECOGNITION_ENGINE": "local",
        "FACESITE_ENROL_MIN_FACE_PIXELS": "60",
        "DJANGO_SECRET_KEY": "other-facesite-secret-key-for-this-test-only-0123456789",
        "FACESITE_SECRETS_KEY": "other-facesite-secrets-key-0123456789",
        "FACESITE_HTTPS": "false",
        "DJANGO_SUPERUSER_PASSWORD": "not-used-here-9f8e7d",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    env.pop("AWS_ENDPOINT_URL_REKOGNITION", None)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "createsuperuser", "--noinput", "--username", "door-system", "--email", "door@example.org")
    key_id, secret = manage(env, "create_access_key", "door-system").strip().splitlines()[-1].split()
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/rekognition"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.post(url, timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    worker_process = WorkerProcess(env=env, log_path=tmp_path / "worker.log") if worker else None
    yield url, key_id, secret, tmp_path / "server.log"
    if worker_process is not None:
        worker_process.stop()
    server.terminate()
    server.wait(10)
    log.close()


@pytest.fixture
def other_facesite_reading_s3(tmp_path, settings, s3_media):
    """The second Facesite with a worker of its own (on Redis databases of its own), reading ``S3Object``s from
    the S3 this Facesite keeps its media in."""
    broker, cache = (redis_database(settings.CELERY_BROKER_URL, number) for number in (13, 14))
    for url in (broker, cache):
        redis.Redis.from_url(url).flushdb()
    yield from serving(tmp_path, {
        "REDIS_URL": broker, "CACHE_URL": cache, "AWS_S3_REGION_NAME": REGION,
        "FACESITE_REKOGNITION_API_S3_ENDPOINT_URL": s3_media.meta.endpoint_url,
        "FACESITE_REKOGNITION_API_S3_BUCKETS": S3_MEDIA_BUCKET,
    }, worker=True)  # fmt: skip
    for url in (broker, cache):
        redis.Redis.from_url(url).flushdb()


def engine_pointed_at(other: tuple[str, str, str, Path], settings, monkeypatch, **options: float) -> Path:
    """This Facesite's engine: Rekognition at the second Facesite's API, signing with its key; its log."""
    url, key_id, secret, log = other
    monkeypatch.setenv("AWS_ENDPOINT_URL_REKOGNITION", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    settings.RECOGNITION_ENGINE = {
        "BACKEND": "recognition.engines.rekognition.RekognitionEngine",
        "OPTIONS": {"region": REGION, "collection_prefix": "", "max_attempts": 1, **options},
    }
    settings.FACESITE_ENROL_MIN_FACE_PIXELS = 60
    return log


def test_the_rekognition_engine_runs_against_a_facesite(other_facesite, settings, monkeypatch):
    log = engine_pointed_at(other_facesite, settings, monkeypatch)

    obama = PersonFactory(name="Barack Obama", external_id="B-44")
    reference = person_enroll(person=obama, data=photo("obama.jpg"))
    assert reference.engine == "rekognition" and reference.engine_face_id

    image = image_analyse(image_id=image_ingest(data=photo("obama2.jpg")).pk)
    [face] = image.faces.all()
    assert face.person == obama and face.similarity > 80, Path(log).read_text()[-2000:]
    assert face.attributes["Gender"]["Value"] == "Male"

    [stranger] = faces_search(data=photo("biden.jpg"), collection=reference.collection, threshold=80, max_matches=5)
    assert stranger.matches == []
    assert person_verify(external_id="B-44", data=photo("obama3.jpg"), threshold=80).outcome == "match"
    assert person_verify(external_id="B-44", data=photo("biden.jpg"), threshold=80).outcome == "no_match"
    assert faces_compare(source=photo("obama.jpg"), target=photo("obama2.jpg"), threshold=80).faces[0].match

    person_erase(person=obama)
    assert not Face.objects.references().exists()
    import boto3

    other = boto3.session.Session().client("rekognition", region_name="eu-west-1")
    assert other.list_faces(CollectionId="default")["Faces"] == []  # gone on the other side too
    assert other.list_users(CollectionId="default")["Users"] == []


def test_a_video_in_s3_is_searched_by_a_facesite_through_the_rekognition_engine(
    other_facesite_reading_s3, settings, monkeypatch
):
    """Rekognition Video's StartFaceSearch and GetFaceSearch, as the engine calls them for a video in S3, answered
    by the second Facesite's own video analysis, its worker reading the video from the same S3."""
    log = engine_pointed_at(other_facesite_reading_s3, settings, monkeypatch, video_poll_seconds=0.5,
                            video_timeout=240.0)  # fmt: skip
    obama = PersonFactory(name="Barack Obama", external_id="B-44")
    person_enroll(person=obama, data=photo("obama3.jpg"))

    uploaded = video_upload(file=io.BytesIO(video([("obama.jpg", 3.0), (None, 2.0)])), filename="door.mp4")
    assert file_s3_location(uploaded.file).region == REGION, "where the engine reads it itself"
    done = analysed_here(uploaded)
    assert done.status == Video.Status.DONE, done.error + Path(log).read_text()[-2000:]
    other_worker = (Path(log).parent / "worker.log").read_text()
    assert "videos.tasks.finish_video[" in other_worker, "the other Facesite's worker analysed it"
    [sighting] = done.sightings.all()
    assert sighting.person == obama and sighting.similarity > 80
    assert sighting.first_at < 1.0 and 2.0 <= sighting.last_at < 3.0 and len(sighting.boxes) >= 5
