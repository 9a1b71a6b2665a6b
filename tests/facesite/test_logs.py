"""Request ids and task ids in the logs, and JSON logs from the web and from a real worker."""

import io
import json
import logging

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from facesite.logs import ContextFilter, JsonFormatter, RequestIdMiddleware
from recognition.models import Image
from recognition.services.ingest import image_ingest
from tests import images
from tests.helpers import wait_for
from tests.workers import WorkerProcess, child_env


def json_lines_of(name: str, level: int):
    """What logger ``name`` writes at ``level`` and above, one JSON object a line, as FACESITE_LOG_FORMAT=json
    does."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    before = logger.level
    logger.setLevel(level)
    yield logger, stream
    logger.removeHandler(handler)
    logger.setLevel(before)


@pytest.fixture
def json_log():
    yield from json_lines_of("facesite.test", logging.INFO)


@pytest.fixture
def access_log():
    yield from json_lines_of("facesite.access", logging.DEBUG)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_request_gets_an_id_that_its_answer_and_its_log_records_carry(json_log):
    logger, stream = json_log

    def view(request):
        logger.info("answering %s", request.path)
        return HttpResponse("ok")

    middleware = RequestIdMiddleware(view)
    response = middleware(RequestFactory().get("/api/images/"))
    [record] = lines(stream)
    assert len(response["X-Request-ID"]) == 32 and record["request_id"] == response["X-Request-ID"]
    assert record["message"] == "answering /api/images/" and record["level"] == "INFO"
    assert record["logger"] == "facesite.test" and record["task_id"] == "" and record["time"].endswith("+00:00")

    offered = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="lb-7f3a.42"))
    assert offered["X-Request-ID"] == "lb-7f3a.42", "a proxy's id is kept, so its logs and ours join up"
    assert lines(stream)[1]["request_id"] == "lb-7f3a.42"
    for unsafe in ("two words", "x" * 65, "id\nforged line"):
        assert middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID=unsafe))["X-Request-ID"] != unsafe

    logger.info("between requests")
    assert lines(stream)[-1]["request_id"] == ""


def test_a_json_record_carries_its_exception(json_log):
    logger, stream = json_log
    try:
        raise ValueError("the engine's answer made no sense")
    except ValueError:
        logger.exception("failed")
    [record] = lines(stream)
    assert record["level"] == "ERROR" and "ValueError: the engine's answer made no sense" in record["exception"]


def test_the_api_answers_with_a_request_id(client):
    assert len(client.get("/healthz")["X-Request-ID"]) == 32


def test_each_answer_is_logged_once_with_who_asked_but_not_the_query(api_client, user, access_log):
    _, stream = access_log
    response = api_client.get("/api/people/?external_id=BADGE-0042")
    [record] = lines(stream)
    assert record["logger"] == "facesite.access" and record["level"] == "INFO"
    assert record["request_id"] == response["X-Request-ID"]
    http = record["http"]
    assert (http["method"], http["path"], http["status"]) == ("GET", "/api/people/", 200)
    assert http["user"] == user.username and http["client_ip"] == "127.0.0.1" and http["duration_ms"] > 0
    assert "BADGE-0042" not in stream.getvalue(), "a badge number in the query stays out of the log"
    assert record["message"].startswith("GET /api/people/ 200 ") and f"({user.username} from " in record["message"]


def test_refused_answers_are_logged_too_and_probes_only_quietly(client, access_log, settings):
    _, stream = access_log
    client.get("/api/people/")
    client.get("/healthz")
    settings.FACESITE_METRICS_ALLOWED_NETWORKS = []
    client.get("/metrics")
    refused, probe, scraper = lines(stream)
    assert (refused["http"]["status"], refused["http"]["user"], refused["level"]) == (401, "", "INFO")
    assert (probe["http"]["path"], probe["level"]) == ("/healthz", "DEBUG"), "below the default INFO level"
    assert (scraper["http"]["status"], scraper["level"]) == (403, "INFO"), "a refused scraper is worth a line"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_writes_json_lines_with_the_task_id(media_root, tmp_path):
    log_path = tmp_path / "worker.log"
    worker = WorkerProcess(env=child_env(media_root=media_root, FACESITE_LOG_FORMAT="json"), log_path=log_path)
    try:
        image = image_ingest(data=images.jpeg((120, 90), seed=80))
        wait_for(lambda: Image.objects.get(pk=image.pk).status == Image.Status.DONE, timeout=60)
        wait_for(lambda: f"Image {image.pk} analysed" in log_path.read_text(), timeout=10)
    finally:
        worker.stop()
    records = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    [analysed] = [r for r in records if r["message"].startswith(f"Image {image.pk} analysed")]
    assert analysed["logger"] == "recognition.services.analysis" and len(analysed["task_id"]) == 36
    assert any("ready." in r["message"] for r in records), "Celery's own records are JSON too"
