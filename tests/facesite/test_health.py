"""/healthz, /readyz and /metrics, against the real database, real Redis servers and real storage."""

from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from facesite.devredis import free_port, start_private_redis
from integrations.models import Delivery, Endpoint
from recognition.engines.base import EngineError
from recognition.engines.fake import FakeEngine
from recognition.engines.local import LocalEngine
from recognition.models import Collection, Image
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from tests import images
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


class UnreadyEngine(FakeEngine):
    def ready(self):
        raise EngineError("The face models could not be loaded: no such file")


@pytest.fixture
def private_redis(tmp_path):
    port = free_port()
    server = start_private_redis(port, tmp_path / "redis")
    yield server, f"redis://127.0.0.1:{port}/0"
    server.kill()
    server.wait(10)


def test_healthz_answers_while_the_process_serves(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_checks_database_redis_storage_and_engine(client, media_root):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok" and body["down"] == []
    assert set(body["checks"]) == {"database", "redis", "storage", "engine"}
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_names_redis_when_it_stops(client, media_root, settings, private_redis):
    server, url = private_redis
    settings.CELERY_BROKER_URL = url
    assert client.get("/readyz").status_code == 200
    server.kill()
    server.wait(10)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["down"] == ["redis"]
    assert "Connection" in body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["ok"] and body["checks"]["storage"]["ok"]


def test_readyz_names_an_engine_that_cannot_load_its_models(client, media_root, settings):
    settings.RECOGNITION_ENGINE = {"BACKEND": "tests.facesite.test_health.UnreadyEngine", "OPTIONS": {}}
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["down"] == ["engine"]
    assert "could not be loaded" in response.json()["checks"]["engine"]["error"]


def test_the_local_engine_is_ready_once_its_face_models_are_loaded():
    engine = LocalEngine()
    engine.ready()
    assert {"face_detector", "face_recogniser"} <= set(vars(engine.models)), "ready() loaded them"


def metric_values(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_images_deliveries_enrolled_faces_and_analysis_time(client, media_root, receiver):
    done_fast, done_slow = (image_ingest(data=images.jpeg(seed=seed)) for seed in (1, 2))
    image_ingest(data=images.jpeg(seed=3))  # stays pending
    now = timezone.now()
    for image, took in ((done_fast, 0.3), (done_slow, 4.0)):
        Image.objects.filter(pk=image.pk).update(
            status=Image.Status.DONE, claimed_at=now - timedelta(seconds=took), analysed_at=now
        )
    endpoint = Endpoint.objects.create(name="Door", url=receiver.url, secret="s", events=["image.analysed"])
    Delivery.objects.create(endpoint=endpoint, event="image.analysed", image=done_fast, idempotency_key="k1",
                            payload="<x/>", status=Delivery.Status.DEAD, next_attempt_at=now,
                            give_up_at=now)  # fmt: skip
    lobby = Collection.objects.create(name="lobby")
    person_enroll(person=PersonFactory(), data=images.jpeg((96, 72), seed=4), collection=lobby)

    response = client.get("/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain; version=0.0.4")
    values = metric_values(response.content.decode())
    assert values[("facesite_images", (("status", "pending"),))] == 1
    # The enrolment's photo is an image too, stored done (without a claim: it was never queued).
    assert values[("facesite_images", (("status", "done"),))] == 3
    assert values[("facesite_images", (("status", "failed"),))] == 0
    assert values[("facesite_deliveries", (("status", "dead"),))] == 1
    assert values[("facesite_enrolled_faces", (("collection", "lobby"),))] == 1
    assert values[("facesite_analysis_seconds_bucket", (("le", "0.25"),))] == 0
    assert values[("facesite_analysis_seconds_bucket", (("le", "0.5"),))] == 1
    assert values[("facesite_analysis_seconds_bucket", (("le", "5.0"),))] == 2
    assert values[("facesite_analysis_seconds_count", ())] == 2
    assert values[("facesite_analysis_seconds_sum", ())] == pytest.approx(4.3)


def test_metrics_count_the_tasks_waiting_in_each_queue(client, settings, private_redis):
    _, url = private_redis
    settings.CELERY_BROKER_URL = url
    with current_app.connection_for_write(url) as connection:
        for _ in range(3):
            current_app.send_task("recognition.tasks.analyse_image", args=["x"], queue="text", connection=connection)
        current_app.send_task("recognition.tasks.analyse_image", args=["y"], queue="analysis", connection=connection,
                              priority=6)  # fmt: skip
    values = metric_values(client.get("/metrics").content.decode())
    assert values[("facesite_queue_length", (("queue", "text"),))] == 3
    assert values[("facesite_queue_length", (("queue", "analysis"),))] == 1
    assert values[("facesite_queue_length", (("queue", "deliveries"),))] == 0


def test_metrics_are_refused_outside_the_allowed_networks_without_the_token(client, settings):
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    settings.FACESITE_METRICS_TOKEN = "s3cret-scraper-token"
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", **outside).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scraper-token", **outside).status_code == 200
    settings.FACESITE_METRICS_ALLOWED_NETWORKS = []
    assert client.get("/metrics").status_code == 403, "loopback too, once no network is allowed"


@pytest.mark.parametrize(("address", "status"), [("::ffff:127.0.0.1", 200), ("::1", 200), ("::ffff:203.0.113.9", 403)])
def test_metrics_see_ipv4_clients_of_a_dual_stack_server_as_ipv4(client, address, status):
    assert client.get("/metrics", REMOTE_ADDR=address).status_code == status


def test_probes_and_scrapers_are_not_redirected_to_https(client, settings, media_root):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/api/").status_code == 301, "the rest of the site is"
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_metrics_time_the_face_checks(client, admin_client_api, media_root):
    def compares() -> float:
        values = metric_values(client.get("/metrics").content.decode())
        return values.get(("facesite_check_seconds_count", (("check", "compare"),)), 0.0)

    before = compares()
    photo = images.jpeg((96, 72), seed=12)
    answer = admin_client_api.post(
        "/api/compare/", {"source": images.upload_file(photo), "target": images.upload_file(photo)}, format="multipart"
    )
    assert answer.status_code == 200, answer.content
    assert compares() == before + 1
