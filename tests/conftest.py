"""Test fixtures: a real Redis broker, real Celery workers, real databases.

The broker is the Redis named by ``REDIS_URL`` (database 15, flushed at start,
so a developer's running system on database 0 is left alone) or, when none
answers and we are not in CI, a private redis-server started for the session.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.db import connections
from django.test.utils import override_settings
from rest_framework.test import APIClient

from backoffice import roles
from facesite.celery import app as celery_app
from facesite.devredis import free_port, redis_reachable, start_private_redis
from tests import factories, flush
from tests.helpers import end_other_database_sessions, token_for

TEST_REDIS_DB = 15

# `python -m tests.pgvector_server pytest ...` (`make test` runs the face-search tests so) sets this: the
# database is a private PostgreSQL with pgvector, and the face-search tests try both kinds of search.
SEARCH_BACKENDS = ["memory", "pgvector"] if os.environ.get("FACESITE_TEST_DATABASE") == "pgvector" else ["memory"]
collect_ignore = [] if "pgvector" in SEARCH_BACKENDS else ["recognition/test_pgvector.py"]

# Tests start threads that use the database (the live server, in-process Celery workers).
# Persistent connections would outlive them and keep the test database from being dropped.
settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
flush.install()  # transactional tests' tables emptied by DELETE, not TRUNCATE: see tests/flush.py


def _test_broker_url(base: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{TEST_REDIS_DB}", "", ""))


@pytest.fixture(scope="session", autouse=True)
def broker_url(tmp_path_factory) -> str:
    configured = settings.REDIS_URL
    private = None
    if redis_reachable(configured):
        url = _test_broker_url(configured)
    elif os.environ.get("CI") == "true" or "REDIS_URL" in os.environ:
        pytest.exit(f"Redis at {configured} does not answer; the suite needs a real broker.", returncode=3)
    else:
        port = free_port()
        private = start_private_redis(port, tmp_path_factory.mktemp("redis"))
        url = f"redis://127.0.0.1:{port}/{TEST_REDIS_DB}"
    redis.Redis.from_url(url).flushdb()
    settings.CELERY_BROKER_URL = url
    # Throttles and other cached values: their own database, emptied now. Overridden (not assigned), so
    # that Django's cache handler, which read CACHES once already, is rebuilt.
    cache_url = url.rsplit("/", 1)[0] + f"/{TEST_REDIS_DB - 1}"
    redis.Redis.from_url(cache_url).flushdb()
    caches = override_settings(CACHES={"default": {**settings.CACHES["default"], "LOCATION": cache_url}})
    caches.enable()
    celery_app.conf.broker_url = url
    yield url
    caches.disable()
    if private is not None:
        private.terminate()
        private.wait(10)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Every test stores files in its own directory, so leftovers are visible."""
    root = tmp_path / "media"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    return root


@pytest.fixture(autouse=True)
def empty_cache(broker_url):
    """Rate-limit counts live in Redis, outside the database's rollback: each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Passwords hashed with a fast hasher, as Django's testing docs advise: the default (PBKDF2, a million
    rounds) takes 0.6 s a user on a slow core, and the tests make hundreds of users. Signing in still checks
    the password; the hashing itself is Django's, not under test here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def two_step_optional(settings):
    """Back-office tests sign in with ``force_login``, past the sign-in pages, or as users without an
    authenticator; two-step sign-in has tests of its own (``tests/facesite/test_two_step.py``), which make it
    required again, as it is by default."""
    settings.FACESITE_TWO_STEP_REQUIRED = False


@pytest.fixture
def checked() -> list:
    """(operation, departures from its output shape) for every answer a compatible-API client parsed: give it
    to ``tests.rekognition_api.clients.client_for``."""
    return []


@pytest.fixture(autouse=True)
def fake_engine(settings):
    settings.RECOGNITION_ENGINE = {"BACKEND": "recognition.engines.fake.FakeEngine", "OPTIONS": {}}
    settings.FACESITE_ENROL_MIN_FACE_PIXELS = 16  # the fake engine's synthetic test images are small


@pytest.fixture
def local_engine(settings):
    """The real local engine (real models) instead of the fake one, for real photos."""
    settings.RECOGNITION_ENGINE = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}
    settings.FACESITE_ENROL_MIN_FACE_PIXELS = 40


@pytest.fixture
def obama_and_biden(local_engine):
    """Barack Obama (badge OBAMA-44, from obama3.jpg) and Joe Biden (BIDEN-46) enrolled with the local engine."""
    from recognition.services.people import person_enroll
    from tests.images import FIXTURES

    obama = factories.PersonFactory(name="Barack Obama", external_id="OBAMA-44")
    person_enroll(person=obama, data=(FIXTURES / "obama3.jpg").read_bytes())
    biden = factories.PersonFactory(name="Joe Biden", external_id="BIDEN-46")
    person_enroll(person=biden, data=(FIXTURES / "biden.jpg").read_bytes())
    return obama, biden


@pytest.fixture
def obama_seen(obama_and_biden, media_root):
    """Obama enrolled, seen in one photo with someone else, seen alone in another, and checked at a door."""
    from recognition.services.analysis import image_analyse
    from recognition.services.ingest import image_ingest
    from recognition.services.matching import person_verify
    from tests.images import FIXTURES, group_photo

    obama, _ = obama_and_biden
    group = group_photo(("obama2.jpg", "biden.jpg"))
    image_analyse(image_id=image_ingest(data=group, filename="with-biden.jpg").pk)
    image_analyse(image_id=image_ingest(data=(FIXTURES / "obama.jpg").read_bytes(), filename="alone.jpg").pk)
    person_verify(external_id="OBAMA-44", data=(FIXTURES / "obama.jpg").read_bytes(), threshold=80)
    return obama


@pytest.fixture(params=SEARCH_BACKENDS)
def face_search(request, settings) -> str:
    """Each kind of face search this database offers: "memory", and "pgvector" on PostgreSQL with pgvector."""
    settings.FACESITE_FACE_SEARCH = {**settings.FACESITE_FACE_SEARCH, "BACKEND": request.param}
    return request.param


S3_MEDIA_BUCKET = "facesite-media"


@pytest.fixture
def s3_media(settings, monkeypatch):
    """The default storage in a bucket of a real S3 server, each object encrypted with SSE-S3 (AES256)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "media-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "media-secret")
    import boto3

    from tests.servers import s3_server

    with s3_server() as url:
        s3 = boto3.session.Session().client("s3", endpoint_url=url, region_name="eu-west-1")
        s3.create_bucket(Bucket=S3_MEDIA_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": S3_MEDIA_BUCKET, "region_name": "eu-west-1", "endpoint_url": url,
                    "location": "facesite",
                    "default_acl": "private", "querystring_auth": True, "file_overwrite": False,
                    "object_parameters": {"ServerSideEncryption": "AES256"},
                },
            },
        }  # fmt: skip
        yield s3


@pytest.fixture
def rekognition(settings, monkeypatch):
    """The Rekognition engine, its boto3 client answered by botocore's Stubber (see tests.aws)."""
    import boto3

    from tests import aws

    monkeypatch.delenv("AWS_ENDPOINT_URL_REKOGNITION", raising=False)
    client = boto3.client(
        "rekognition", region_name=aws.REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    monkeypatch.setattr(aws.StubbedRekognitionEngine, "shared_client", client)
    settings.RECOGNITION_ENGINE = aws.engine_settings()
    settings.RECOGNITION_ENGINES = {**settings.RECOGNITION_ENGINES, "rekognition": aws.engine_settings()["BACKEND"]}
    settings.REKOGNITION_OPTIONS = aws.engine_settings()["OPTIONS"]
    scripted = aws.Rekognition(client)
    with scripted.stubber:
        yield scripted
        scripted.stubber.assert_no_pending_responses()


@task_postrun.connect(weak=False)
def _close_worker_connections(**kwargs):
    # The in-process worker runs tasks in its own thread; close that thread's
    # connections so the test database can be flushed and dropped afterwards.
    connections.close_all()


@pytest.fixture
def celery_worker(transactional_db, broker_url):
    """A real Celery worker consuming from the real Redis broker, in a thread of this process."""
    with start_worker(
        celery_app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=30.0,
    ) as worker:
        yield worker


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


@pytest.fixture
def user(db):
    """An operator: uploads, enrols, verifies (the usual integration account)."""
    return factories.UserFactory(role=roles.OPERATOR)


@pytest.fixture
def api_client(user) -> APIClient:
    return client_for(user)


@pytest.fixture
def reviewer_client(db) -> APIClient:
    return client_for(factories.UserFactory(role=roles.REVIEWER))


@pytest.fixture
def admin_client_api(db) -> APIClient:
    return client_for(factories.UserFactory(role=roles.ADMINISTRATOR))


@pytest.fixture
def root_client(db) -> APIClient:
    """A superuser's token: every operation allowed, so an answer is about the request itself."""
    return client_for(factories.UserFactory(is_superuser=True))


@pytest.fixture
def no_role_client(db) -> APIClient:
    return client_for(factories.UserFactory())


@pytest.fixture
def receiver(settings):
    """A receiving endpoint on loopback, whose network is allowed as an operator would allow their own."""
    from tests.receiver import Receiver

    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def private_ca(tmp_path_factory):
    from tests.servers import PrivateAuthority

    return PrivateAuthority(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def trusted_ca(settings, private_ca):
    """``private_ca``, trusted as a site trusts its own (``FACESITE_CA_BUNDLE``), its servers on loopback allowed."""
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.FACESITE_CA_BUNDLE = str(private_ca.pem)
    return private_ca


@pytest.fixture
def tls_receiver(settings, private_ca):
    """A receiving endpoint on loopback over HTTPS, its certificate signed by ``private_ca``."""
    from tests.receiver import Receiver

    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server = Receiver(tls=private_ca.server_context()).start()
    yield server
    server.stop()


@pytest.fixture
def endpoint(db, receiver):
    from integrations.models import Endpoint

    return Endpoint.objects.create(
        name="ERP", url=receiver.url, secret="s3cret-shared", timeout_seconds=5, events=["image.analysed"]
    )


@pytest.fixture
def quick_retries(settings):
    settings.FACESITE_DELIVERY_BACKOFF_BASE = 0.4
    settings.FACESITE_DELIVERY_BACKOFF_MIN = 0.2


@pytest.fixture
def image_server(request):
    """A loopback HTTP server with an image, a web page and a redirect to the cloud metadata address; over
    HTTPS, with a certificate ``private_ca`` signed, when parametrized (indirectly) with ``"https"``. Its
    next ``unavailable_for`` requests are answered 503."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.images import jpeg

    class State:
        body = jpeg((96, 72), seed=77)
        requests = 0
        unavailable_for = 0

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            State.requests += 1
            if State.unavailable_for > 0:
                State.unavailable_for -= 1
                self.send_error(503)
                return
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()
                return
            body, kind = (State.body, "image/jpeg") if self.path.endswith(".jpg") else (b"<html>hi</html>", "text/html")
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = getattr(request, "param", "http")
    if scheme == "https":
        tls = request.getfixturevalue("private_ca").server_context()
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    State.url_for = staticmethod(lambda name: f"{scheme}://127.0.0.1:{server.server_address[1]}/{name}")
    yield State
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session", autouse=True)
def _end_leftover_test_database_sessions(django_db_setup, django_db_blocker):
    """A live-server request thread can leave its PostgreSQL session open after it ends; end any
    such session on the test database before it is dropped (this teardown runs first)."""
    yield
    from django.db import connection

    # Only when a test asked for the database was it set up (pytest-django sets up what the tests use).
    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith("test_"):
        return
    with django_db_blocker.unblock():
        end_other_database_sessions()


@pytest.fixture
def empty_queues(settings):
    """The broker's deliveries and analysis queues empty before and after the test (``tests.helpers.queued_tasks``)."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("deliveries", "analysis")
    yield
    broker.delete("deliveries", "analysis")
