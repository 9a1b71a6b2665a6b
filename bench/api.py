"""Latency of the synchronous API endpoints on the local engine: verify and search at 640×480.

    .venv/bin/python bench/api.py [--requests N]

Requests go through the whole Django stack in-process (middleware, token
authentication, DRF parsing and validation, engine, database writes for the
verification record and the audit trail) against a throw-away SQLite database
with Barack Obama enrolled. Models are loaded before timing starts. The
Rekognition-compatible API is measured with a real boto3 client over loopback HTTP
(a single-threaded WSGI server), signature checking included.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arguments import positive_int  # noqa: E402  (beside this script)
from scratch import scratch_folder  # noqa: E402  (beside this script)

os.environ["FACESITE_VAR_DIR"] = str(scratch_folder("facesite-bench-api-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facesite.settings")
os.environ["RECOGNITION_ENGINE"] = "local"
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from photos import FIXTURES, fixture, jpeg_640x480  # noqa: E402  (beside this script)


def at_640x480(name: str) -> bytes:
    return jpeg_640x480(fixture(name))


def measure(client: Client, path: str, make_body, n: int, headers) -> list[float]:
    times = []
    for i in range(n):
        body = make_body(i)
        start = time.perf_counter()
        response = client.post(path, body, **headers)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}: {response.content[:300]!r}")
    return times


def report(name: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(f"{name:34} median {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms   (n={len(ordered)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=positive_int, default=50)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from backoffice import roles
    from backoffice.tokens import api_token_issue
    from recognition.engine_handler import get_engine
    from recognition.models import Person
    from recognition.services.people import person_enroll

    roles.sync_roles()
    user = get_user_model().objects.create_user("bench")
    # An integrator's account: an operator's permissions, read as every request reads them (a superuser's
    # requests skip that query).
    user.groups.add(Group.objects.get(name=roles.OPERATOR))
    headers = {"HTTP_AUTHORIZATION": f"Token {api_token_issue(user=user)[1]}"}
    person = Person.objects.create(name="Barack Obama", external_id="B-44")
    person_enroll(person=person, data=(FIXTURES / "obama.jpg").read_bytes())
    for other in ("biden.jpg", "astronaut.png"):
        person_enroll(person=Person.objects.create(name=other), data=(FIXTURES / other).read_bytes())
    get_engine().models.load_all()

    probes = [at_640x480(n) for n in ("obama2.jpg", "obama3.jpg", "biden.jpg")]
    client = Client(HTTP_HOST="localhost")
    client.post("/api/verify/", {"external_id": "B-44", "file": io.BytesIO(probes[0])}, **headers)  # warm-up

    def verify_body(i):
        return {"external_id": "B-44", "file": io.BytesIO(probes[i % len(probes)])}

    def search_body(i):
        return {"file": io.BytesIO(probes[i % len(probes)])}

    print(f"Synchronous API on the local engine, 640×480 JPEG probes, {args.requests} requests each, one process")
    report("POST /api/verify/ (badge + face)", measure(client, "/api/verify/", verify_body, args.requests, headers))
    report("POST /api/search/ (3 enrolled)", measure(client, "/api/search/", search_body, args.requests, headers))
    report("boto3 SearchUsersByImage (HTTP)", measure_boto3(user, probes, args.requests))


def measure_boto3(user, probes: list[bytes], n: int) -> list[float]:
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    import boto3

    from facesite.wsgi import application
    from rekognition_api.keys import access_key_create

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, application, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    key, secret = access_key_create(user=user)
    rekognition = boto3.client(
        "rekognition", endpoint_url=f"http://localhost:{server.server_port}/rekognition", region_name="eu-west-1",
        aws_access_key_id=key.access_key_id, aws_secret_access_key=secret,
    )  # fmt: skip
    rekognition.search_users_by_image(CollectionId="default", Image={"Bytes": probes[0]})  # warm-up
    times = []
    for i in range(n):
        start = time.perf_counter()
        rekognition.search_users_by_image(CollectionId="default", Image={"Bytes": probes[i % len(probes)]})
        times.append((time.perf_counter() - start) * 1000)
    server.shutdown()
    return times


if __name__ == "__main__":
    main()
