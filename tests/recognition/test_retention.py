"""Retention limits and the purge: rows, files and deliveries removed through the erasure service, audited."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from integrations.models import Delivery, Endpoint
from recognition.models import AuditEvent, Face, Image, Person, Verification
from recognition.services import thumbnails
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.matching import person_verify
from recognition.services.people import person_enroll
from recognition.services.retention import purge_plan, retention_purge
from tests import images
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


@pytest.fixture
def limits(settings):
    settings.FACESITE_RETENTION = {"images": 30, "videos": 30, "unmatched_faces": 30, "verifications": 30,
                                  "people_unseen": 1095, "exports": 7}  # fmt: skip
    return settings.FACESITE_RETENTION


@pytest.fixture
def site(media_root, receiver, limits):
    """Data of every age: what has outlived its limit and what has not."""
    Endpoint.objects.create(name="Door", url=receiver.url, secret="s",
                            events=["image.analysed", "verification.result"])  # fmt: skip
    seen = PersonFactory(external_id="B-1", name="Seen Recently")
    person_enroll(person=seen, data=images.jpeg((96, 72), seed=301))
    gone = PersonFactory(external_id="B-2", name="Long Gone")
    person_enroll(person=gone, data=images.jpeg((96, 72), seed=302))
    Person.objects.filter(pk=gone.pk).update(created_at=days_ago(4 * 365))
    Face.objects.filter(person=gone).update(created_at=days_ago(4 * 365))

    old = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=303)).pk)
    Image.objects.filter(pk=old.pk).update(created_at=days_ago(40))
    new = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=304)).pk)
    stranger = new.faces.get()  # matched to no one
    Face.objects.filter(pk=stranger.pk).update(created_at=days_ago(40))
    # Seen last week, in a photo (the fake engine matches a picture with itself).
    sighting = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=301)).pk)
    assert sighting.faces.get().person == seen

    old_check = person_verify(external_id="B-1", data=images.jpeg((96, 72), seed=301), threshold=80)
    Verification.objects.filter(pk=old_check.pk).update(created_at=days_ago(31))
    new_check = person_verify(external_id="B-1", data=images.jpeg((96, 72), seed=301), threshold=80)
    return {"seen": seen, "gone": gone, "old": old, "new": new, "stranger": stranger, "old_check": old_check,
            "new_check": new_check}  # fmt: skip


def test_the_purge_removes_what_outlived_its_limit_with_its_files_and_keeps_the_rest(
    site, media_root, django_capture_on_commit_callbacks
):
    old_file = media_root / site["old"].file.name
    crop = thumbnails.face_crop(Face.objects.get(pk=site["stranger"].pk))
    assert old_file.exists() and crop
    crops_before = len(list(media_root.rglob("thumbs/**/*.jpg")))
    assert Delivery.objects.filter(event="verification.result").count() == 2

    plan = purge_plan().counts()
    assert plan == {"images": 1, "unmatched_faces": 1, "verifications": 1, "people": 1, "videos": 0, "exports": 0}
    with django_capture_on_commit_callbacks(execute=True):  # files go once the rows' deletion commits
        removed = retention_purge()

    assert removed == plan
    assert not Image.objects.filter(pk=site["old"].pk).exists() and not old_file.exists()
    assert not Face.objects.filter(pk=site["stranger"].pk).exists()
    assert Image.objects.filter(pk=site["new"].pk).exists(), "the image stays; its stranger's face goes"
    assert len(list(media_root.rglob("thumbs/**/*.jpg"))) == crops_before - 1, "the stranger's crop is deleted"
    assert not Person.objects.filter(pk=site["gone"].pk).exists(), "erased after three years unseen"
    assert Person.objects.filter(pk=site["seen"].pk).exists()
    assert not Verification.objects.filter(pk=site["old_check"].pk).exists()
    assert Verification.objects.filter(pk=site["new_check"].pk).exists()
    assert Delivery.objects.filter(event="verification.result").count() == 1, "the old check's delivery went too"

    purge = AuditEvent.objects.get(action="retention.purge")
    assert purge.actor is None and purge.details["removed"] == removed
    assert purge.details["limits"]["people_unseen"] == 1095
    assert AuditEvent.objects.filter(action="person.erase").count() == 1
    assert AuditEvent.objects.filter(action="image.delete").count() == 1
    assert retention_purge() == dict.fromkeys(removed, 0), "nothing is left to remove a second time"


def test_limits_of_zero_keep_everything(site, settings):
    settings.FACESITE_RETENTION = dict.fromkeys(settings.FACESITE_RETENTION, 0)
    assert retention_purge() == {"images": 0, "unmatched_faces": 0, "verifications": 0, "people": 0, "videos": 0,
                                 "exports": 0}  # fmt: skip
    assert Person.objects.count() == 2 and Image.objects.filter(pk=site["old"].pk).exists()


def test_the_command_s_dry_run_counts_and_removes_nothing(site):
    out = io.StringIO()
    call_command("purge", dry_run=True, stdout=out)
    assert "Would remove:" in out.getvalue() and "      1 analysed images" in out.getvalue()
    assert "      1 people not seen (erased)" in out.getvalue() and "      0 videos" in out.getvalue()
    assert Person.objects.count() == 2 and not AuditEvent.objects.filter(action="retention.purge").exists()
    call_command("purge", stdout=(out := io.StringIO()))
    assert "Removed:" in out.getvalue() and Person.objects.count() == 1


def test_the_dashboard_says_what_the_next_purge_removes(site, admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert "Next retention purge" in page
    assert "<strong>1</strong> analysed images" in page and "<strong>1</strong> people not seen (erased)" in page
    assert "<strong>0</strong> videos" in page


def test_the_purge_runs_daily_on_the_maintenance_queue():
    schedule = django_settings.CELERY_BEAT_SCHEDULE["retention-purge"]
    assert schedule["task"] == "recognition.tasks.purge_expired"
    assert schedule["schedule"].hour == {django_settings.FACESITE_PURGE_HOUR}
    assert django_settings.CELERY_TASK_ROUTES["recognition.tasks.purge_expired"] == {"queue": "maintenance"}
