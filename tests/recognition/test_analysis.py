"""The analysis service on a real database with the deterministic fake engine."""

import logging
import re
import time

import pytest

from integrations.models import Delivery
from recognition.exceptions import EnrolmentError
from recognition.models import Face, Image
from recognition.services.analysis import AnalysisRetry, image_analyse, image_reanalyse
from recognition.services.ingest import image_ingest, image_ingest_url
from recognition.services.people import person_enroll
from recognition.tasks import ANALYSIS_MAX_RETRIES, analyse_image
from tests import images
from tests.factories import PersonFactory
from tests.servers import closed_port

pytestmark = pytest.mark.django_db


def ingest(data=None, **kwargs) -> Image:
    return image_ingest(data=data or images.jpeg((96, 64), seed=11), **kwargs)


def use_engine(settings, name: str) -> None:
    settings.RECOGNITION_ENGINE = {"BACKEND": f"tests.engines.{name}", "OPTIONS": {}}


def test_analysis_stores_results_and_marks_done():
    image = ingest(images.solid((220, 20, 20), size=(80, 60)))
    done = image_analyse(image_id=image.pk)
    assert done.status == Image.Status.DONE
    assert done.attempts == 1
    assert (done.engine, done.model_version) == ("fake", "1")
    assert {label.name for label in done.labels.all()} == {"Red", "Color", "Person"}
    assert done.labels.get(name="Red").parents == ["Color"]
    face = done.faces.get()
    assert (face.left, face.top, face.width, face.height) == (0.3, 0.2, 0.4, 0.55)
    assert face.get_embedding().shape == (64,)
    assert face.person is None and face.candidate is None
    assert done.analysed_at is not None and done.error == ""


def test_only_requested_features_run():
    image = ingest(features=["labels"])
    image_analyse(image_id=image.pk)
    assert image.labels.exists()
    assert not image.faces.exists()


def test_image_analysed_signal_writes_the_outbox_row_in_the_same_transaction(endpoint, monkeypatch):
    image = ingest()
    image_analyse(image_id=image.pk)
    delivery = Delivery.objects.get(image=image)
    assert delivery.event == "image.analysed" and delivery.status == Delivery.Status.PENDING

    # If storing the results fails after the signal, the outbox row rolls back with them.
    from recognition import signals

    def fail_after_outbox(**kwargs):
        raise RuntimeError("disk full")

    signals.image_analysed.connect(fail_after_outbox, dispatch_uid="test-fail")
    try:
        second = ingest(images.jpeg(seed=99))
        image_analyse(image_id=second.pk)
    finally:
        signals.image_analysed.disconnect(dispatch_uid="test-fail")
    second.refresh_from_db()
    assert second.status == Image.Status.FAILED
    assert second.error == "Internal error while storing results (RuntimeError: disk full)."
    assert not Delivery.objects.filter(image=second).exists()
    assert not second.labels.exists()


def test_the_log_line_says_where_the_task_spent_its_time_listeners_and_commit_apart(caplog):
    from recognition import signals

    def slow_listener(**kwargs):
        time.sleep(0.05)

    signals.image_analysed.connect(slow_listener, dispatch_uid="test-slow")
    try:
        with caplog.at_level(logging.INFO, logger="recognition.services.analysis"):
            image_analyse(image_id=ingest().pk)
    finally:
        signals.image_analysed.disconnect(dispatch_uid="test-slow")
    line = next(r.getMessage() for r in caplog.records if " analysed: " in r.getMessage())
    ms = {stage: float(value) for stage, value in re.findall(r"(\S+)=([0-9.]+)", line.partition("; ms: ")[2])}
    assert {"read", "engine", "identify", "store", "store.announce", "store.commit"} <= ms.keys()
    assert 50 <= ms["store.announce"] < ms["store"]  # the listener's time, counted once, inside the store's
    assert ms["store.commit"] < 50


def test_second_run_of_the_same_image_does_nothing(endpoint):
    image = ingest()
    assert image_analyse(image_id=image.pk) is not None
    assert image_analyse(image_id=image.pk) is None
    image.refresh_from_db()
    assert image.attempts == 1
    assert image.faces.count() == 1
    assert Delivery.objects.filter(image=image).count() == 1


def test_missing_image_id_is_skipped():
    assert image_analyse(image_id="00000000-0000-0000-0000-000000000000") is None


def test_enrolled_person_is_identified():
    person = PersonFactory()
    photo = images.jpeg((120, 90), seed=5)
    reference = person_enroll(person=person, data=photo)
    assert reference.is_reference and reference.person == person and reference.engine_face_id

    same = ingest(photo)
    image_analyse(image_id=same.pk)
    face = same.faces.get()
    assert face.person == person
    assert face.candidate == person
    assert face.similarity == pytest.approx(100.0)
    assert face.review_state == Face.Review.NONE

    other = ingest(images.jpeg((120, 90), seed=6))
    image_analyse(image_id=other.pk)
    assert other.faces.get().person is None


def test_match_below_the_threshold_goes_to_review(settings):
    person = PersonFactory()
    person_enroll(person=person, data=images.jpeg((120, 90), seed=5))
    settings.FACESITE_MATCH_THRESHOLD = 100.5  # nothing passes, everything from 60 up is a candidate
    image = ingest(images.jpeg((120, 90), seed=5))
    image_analyse(image_id=image.pk)
    face = image.faces.get()
    assert face.person is None
    assert face.candidate == person
    assert face.review_state == Face.Review.NEEDS_REVIEW


def test_enrolment_refuses_a_photo_without_a_face():
    with pytest.raises(EnrolmentError) as err:
        person_enroll(person=PersonFactory(), data=images.jpeg((16, 16)))
    assert err.value.code == "no_face"
    assert not Image.objects.exists()


def test_reanalysis_replaces_results_instead_of_adding_to_them():
    image = ingest()
    image_analyse(image_id=image.pk)
    assert image_reanalyse(image=image)
    image_analyse(image_id=image.pk)
    image.refresh_from_db()
    assert image.attempts == 2
    assert image.faces.count() == 1
    assert image.labels.filter(name="Color").count() == 1


def test_permanent_engine_error_fails_the_image_with_its_reason(settings):
    use_engine(settings, "UnreadableEngine")
    image = ingest()
    assert image_analyse(image_id=image.pk) is None
    image.refresh_from_db()
    assert image.status == Image.Status.FAILED
    assert image.error == "The engine cannot read this image."
    assert not Delivery.objects.exists()


def test_retryable_engine_error_puts_the_image_back_in_the_queue(settings):
    use_engine(settings, "ThrottledEngine")
    image = ingest()
    with pytest.raises(AnalysisRetry):
        image_analyse(image_id=image.pk)
    image.refresh_from_db()
    assert image.status == Image.Status.PENDING
    assert image.error == "Will try again: The engine failed: Rate exceeded"
    assert image.claim_token is None


@pytest.mark.django_db(transaction=True)  # the task closes its connections as it ends
def test_the_last_try_fails_the_image_saying_what_kept_failing(settings):
    use_engine(settings, "ThrottledEngine")
    image = ingest()
    analyse_image.apply(args=[str(image.pk)], retries=ANALYSIS_MAX_RETRIES)
    image.refresh_from_db()
    assert image.status == Image.Status.FAILED
    assert image.error == "Gave up after 6 tries: The engine failed: Rate exceeded"


@pytest.mark.django_db(transaction=True)  # the task closes its connections as it ends
def test_an_unreachable_url_is_tried_again_then_failed_as_a_fetch_not_an_engine_failure(settings):
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    url = f"http://127.0.0.1:{closed_port()}/door.jpg"
    cause = f"Could not fetch the image from {url}: Could not connect to 127.0.0.1."
    image = image_ingest_url(url=url).image
    with pytest.raises(AnalysisRetry):
        image_analyse(image_id=image.pk)
    image.refresh_from_db()
    assert image.status == Image.Status.PENDING
    assert image.error == f"Will try again: {cause}"
    analyse_image.apply(args=[str(image.pk)], retries=ANALYSIS_MAX_RETRIES)
    image.refresh_from_db()
    assert image.status == Image.Status.FAILED
    assert image.error == f"Gave up after 6 tries: {cause}"


def test_a_url_whose_host_does_not_exist_fails_at_once_naming_the_host():
    """.invalid is reserved never to resolve (RFC 6761): DNS answers that no such host exists, which trying
    again will not change, unlike a server that cannot be reached."""
    url = "http://door-camera.facesite.invalid/door.jpg"
    image = image_ingest_url(url=url).image
    image_analyse(image_id=image.pk)
    image.refresh_from_db()
    assert image.status == Image.Status.FAILED
    assert image.error == (
        f"Could not fetch the image from {url}: No host is called door-camera.facesite.invalid: DNS knows no "
        "address for it."
    )


def test_unexpected_crash_fails_the_image_with_a_readable_error(settings, caplog):
    use_engine(settings, "CrashingEngine")
    image = ingest()
    image_analyse(image_id=image.pk)
    image.refresh_from_db()
    assert image.status == Image.Status.FAILED
    assert image.error == "Internal error during analysis (ZeroDivisionError: division by zero)."
    assert "Traceback" in caplog.text


def test_results_of_a_reclaimed_image_are_discarded(settings):
    use_engine(settings, "ReclaimedMidwayEngine")
    image = ingest()
    assert image_analyse(image_id=image.pk) is None
    image.refresh_from_db()
    assert image.status == Image.Status.PROCESSING  # still owned by the new claim
    assert not image.labels.exists() and not image.faces.exists()


def test_missing_file_fails_the_image(media_root):
    image = ingest()
    image.file.storage.delete(image.file.name)
    image_analyse(image_id=image.pk)
    image.refresh_from_db()
    assert image.status == Image.Status.FAILED
    assert image.error == f"The stored file of this image ({image.file.name}) is missing from storage."
