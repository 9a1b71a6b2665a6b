"""End to end through a real Celery worker consuming from real Redis."""

import io

import pytest
from celery.signals import task_postrun
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from integrations.models import Delivery
from recognition.models import Image
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from recognition.tasks import analyse_image
from tests import images
from tests.factories import PersonFactory
from tests.helpers import status_of, wait_for


def test_upload_is_analysed_by_a_worker_and_the_follow_up_runs(celery_worker, api_client, endpoint, receiver):
    person = PersonFactory(name="Ada Example")
    photo = images.jpeg((160, 120), seed=21)
    person_enroll(person=person, data=photo)

    response = api_client.post("/api/images/", {"file": SimpleUploadedFile("ada.jpg", photo)})
    assert response.status_code == 202
    image_id = response.json()["id"]

    wait_for(lambda: status_of(image_id) == Image.Status.DONE)
    detail = api_client.get(f"/api/images/{image_id}/").json()
    assert detail["status"] == "done"
    assert {label["name"] for label in detail["labels"]} >= {"Color", "Person"}
    [face] = detail["faces"]
    assert face["person"]["name"] == "Ada Example"
    assert face["similarity"] == pytest.approx(100.0)
    assert set(face["bounding_box"]) == {"left", "top", "width", "height"}

    delivery = wait_for(lambda: Delivery.objects.filter(image_id=image_id, status="delivered").first())
    assert delivery.event == "image.analysed" and len(receiver.received) == 1

    # Kept as uploaded; served as a clean rendition of the same picture (see test_renditions).
    assert Image.objects.get(pk=image_id).read_bytes() == photo
    file_response = api_client.get(f"/api/images/{image_id}/file/")
    assert file_response.status_code == 200 and file_response["Content-Type"] == "image/jpeg"
    assert PILImage.open(io.BytesIO(file_response.content)).size == PILImage.open(io.BytesIO(photo)).size


def test_the_same_message_delivered_twice_analyses_once(transactional_db, broker_url, endpoint):
    from celery.contrib.testing.worker import start_worker

    from facesite.celery import app

    runs = []

    def count_runs(sender=None, **kwargs):
        if sender.name == analyse_image.name:
            runs.append(kwargs["task_id"])

    task_postrun.connect(count_runs, weak=False)
    try:
        image = image_ingest(data=images.jpeg(seed=22))  # queues the first message on commit
        first_id = "duplicate-delivery-test"
        analyse_image.apply_async(args=[str(image.pk)], task_id=first_id)  # the same message again
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            wait_for(lambda: len(runs) == 2, timeout=10)
    finally:
        task_postrun.disconnect(count_runs)
    image.refresh_from_db()
    assert image.status == Image.Status.DONE
    assert image.attempts == 1
    assert image.faces.count() == 1
    assert Delivery.objects.filter(image=image).count() == 1


def test_engine_failure_through_the_worker_marks_the_image_failed(celery_worker, settings):
    settings.RECOGNITION_ENGINE = {"BACKEND": "tests.engines.UnreadableEngine", "OPTIONS": {}}
    image = image_ingest(data=images.jpeg(seed=23))
    wait_for(lambda: status_of(image.pk) == Image.Status.FAILED)
    image.refresh_from_db()
    assert image.error == "The engine cannot read this image."
