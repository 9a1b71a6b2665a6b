"""The sweeper re-queues images whose broker message was lost."""

from datetime import timedelta

import pytest
from django.utils import timezone

from recognition.models import Image
from recognition.services.ingest import image_ingest
from recognition.services.sweeper import SweepReport, images_sweep_stuck
from tests import images

pytestmark = pytest.mark.django_db


def stored_image(status, *, age_seconds: int, attempts: int = 0) -> Image:
    image = image_ingest(data=images.jpeg(seed=attempts))
    then = timezone.now() - timedelta(seconds=age_seconds)
    Image.objects.filter(pk=image.pk).update(status=status, updated_at=then, claimed_at=then, attempts=attempts)
    return image


def test_old_pending_image_is_queued_again(django_capture_on_commit_callbacks, settings):
    settings.FACESITE_PENDING_RETRY_AFTER = 300
    old = stored_image(Image.Status.PENDING, age_seconds=301)
    fresh = stored_image(Image.Status.PENDING, age_seconds=10)
    with django_capture_on_commit_callbacks() as callbacks:
        report = images_sweep_stuck()
    assert report.requeued_pending == 1
    assert len(callbacks) == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.updated_at > timezone.now() - timedelta(seconds=5), "clock restarted so it is not re-sent every sweep"
    assert fresh.status == old.status == Image.Status.PENDING


def test_stale_processing_image_is_reclaimed(django_capture_on_commit_callbacks, settings):
    settings.FACESITE_PROCESSING_STALE_AFTER = 360
    stale = stored_image(Image.Status.PROCESSING, age_seconds=400, attempts=1)
    live = stored_image(Image.Status.PROCESSING, age_seconds=100, attempts=1)
    with django_capture_on_commit_callbacks() as callbacks:
        report = images_sweep_stuck()
    assert report.reclaimed_processing == 1
    assert len(callbacks) == 1
    stale.refresh_from_db()
    live.refresh_from_db()
    assert stale.status == Image.Status.PENDING and stale.claim_token is None
    assert live.status == Image.Status.PROCESSING, "a claim younger than the time limit may still be running"


def test_image_that_keeps_killing_workers_is_given_up(settings):
    settings.FACESITE_PROCESSING_STALE_AFTER = 360
    settings.FACESITE_ANALYSIS_MAX_ATTEMPTS = 3
    poison = stored_image(Image.Status.PROCESSING, age_seconds=400, attempts=3)
    report = images_sweep_stuck()
    assert report.gave_up == 1
    poison.refresh_from_db()
    assert poison.status == Image.Status.FAILED
    assert poison.error == "Gave up after 3 attempts: the worker was lost or timed out each time."


def test_done_and_failed_images_are_left_alone():
    done = stored_image(Image.Status.DONE, age_seconds=10_000)
    failed = stored_image(Image.Status.FAILED, age_seconds=10_000)
    report = images_sweep_stuck()
    assert report == SweepReport(0, 0, 0)
    done.refresh_from_db()
    failed.refresh_from_db()
    assert (done.status, failed.status) == (Image.Status.DONE, Image.Status.FAILED)
