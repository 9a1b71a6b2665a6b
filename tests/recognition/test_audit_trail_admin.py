"""The audit trail people read: sentences with the objects named and linked, seconds, repeated reads
counted once, and filters by who did it."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from backoffice import roles
from integrations.models import Endpoint
from integrations.services.endpoints import SecretChange, endpoint_save
from recognition.admin.common import thumbnail_url
from recognition.audit import API_TOKEN, access_key_credential, acting_with, audit_list, audit_request
from recognition.models import AuditEvent, Image
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.matching import person_verify
from recognition.services.people import person_enroll
from recognition.services.retention import retention_purge
from recognition.services.strays import strays_delete
from tests import images
from tests.clips import video
from tests.factories import PersonFactory
from tests.recognition.test_admin import admin_client
from videos.services import video_upload

pytestmark = pytest.mark.django_db


def test_activity_reads_as_sentences_with_links(settings):
    person = PersonFactory(name="Ada Example", external_id="B-1")
    photo = images.jpeg((200, 150), seed=5)
    person_enroll(person=person, data=photo)
    admin = admin_client(roles.ADMINISTRATOR)
    person_verify(external_id="B-1", data=photo, threshold=80, actor=admin.user)
    image = image_ingest(data=images.jpeg(seed=6), filename="lobby.jpg", uploaded_by=admin.user)

    page = admin.get(reverse("admin:index")).content.decode()
    assert f"{admin.user.username} verified badge B-1: match 100" in page
    link = reverse("admin:recognition_image_change", args=[image.pk])
    assert f'{admin.user.username} uploaded <a href="{link}">lobby.jpg</a>' in page
    assert 'class="recent-images"' in page

    trail = admin.get(reverse("admin:recognition_auditevent_changelist")).content.decode()
    assert "lobby.jpg</a>" in trail and ":" in trail.split("lobby.jpg")[0][-400:]  # times with seconds
    mine = admin.get(reverse("admin:recognition_auditevent_changelist") + f"?actor={admin.user.username}")
    assert "verified badge B-1" in mine.content.decode()
    system = admin.get(reverse("admin:recognition_auditevent_changelist") + "?actor=-").content.decode()
    assert "verified badge B-1" not in system and "Facesite enrolled" in system


def test_reading_the_same_image_again_is_counted_not_repeated():
    image = image_ingest(data=images.jpeg(seed=8), filename="door.jpg")
    reviewer = admin_client(roles.REVIEWER)
    url = reverse("admin:recognition_image_change", args=[image.pk])
    for _ in range(3):
        assert reviewer.get(url).status_code == 200
    [viewed] = AuditEvent.objects.filter(action="image.view", actor=reviewer.user)
    assert viewed.repeats == 3 and viewed.last_at is not None
    other = admin_client(roles.REVIEWER)
    other.get(url)
    assert AuditEvent.objects.filter(action="image.view").count() == 2, "another reader has their own row"
    trail = admin_client(roles.ADMINISTRATOR).get(reverse("admin:recognition_auditevent_changelist"))
    assert "viewed" in trail.content.decode() and "(3 times)" in trail.content.decode()


def test_the_dashboards_activity_is_what_was_done_and_reads_are_one_filter_away():
    uploads = [image_ingest(data=images.jpeg(seed=20 + n), filename=f"gate{n}.jpg") for n in range(11)]
    admin = admin_client(roles.ADMINISTRATOR)
    for image in uploads:  # more reads, and newer, than the dashboard's list holds
        assert admin.get(thumbnail_url(image.pk)).status_code == 200
    assert AuditEvent.objects.filter(action="image.thumbnail").count() == 11

    dashboard = admin.get(reverse("admin:index")).content.decode()
    assert "Facesite uploaded" in dashboard and "gate10.jpg" in dashboard
    assert "looked at the thumbnail" not in dashboard
    assert "?kind=reads" in dashboard

    trail = reverse("admin:recognition_auditevent_changelist")
    reads = admin.get(trail + "?kind=reads").content.decode()
    assert "<title>Audit trail | Facesite</title>" in reads
    assert "looked at the thumbnail of" in reads and "Facesite uploaded" not in reads
    done = admin.get(trail + "?kind=done").content.decode()
    assert "Facesite uploaded" in done and "looked at the thumbnail" not in done


def test_only_reads_are_recorded_as_reads(rf):
    request = rf.get("/")
    request.user = admin_client(roles.ADMINISTRATOR).user
    with pytest.raises(ValueError, match=r"person\.erase is not in AuditEvent\.READS"):
        audit_request(request, AuditEvent.Action.PERSON_ERASE, PersonFactory())
    with pytest.raises(ValueError, match=r"image\.upload is not in AuditEvent\.READS"):
        audit_list(request, AuditEvent.Action.IMAGE_UPLOAD)
    assert not AuditEvent.objects.exclude(action__in=AuditEvent.SIGN_INS).exists(), "nothing but the sign-in"


def test_the_purge_and_the_deletion_of_stray_files_say_how_much_went(settings, django_capture_on_commit_callbacks):
    settings.FACESITE_RETENTION = {**settings.FACESITE_RETENTION, "images": 30}
    expired = image_analyse(image_id=image_ingest(data=images.jpeg(seed=9), filename="old.jpg").pk)
    Image.objects.filter(pk=expired.pk).update(created_at=timezone.now() - timedelta(days=31))
    with django_capture_on_commit_callbacks(execute=True):
        retention_purge()
        retention_purge()
    stray = default_storage.save(f"thumbs/faces/{uuid.uuid4()}-160.jpg", ContentFile(b"a face"))
    strays_delete(names=[stray], actor=None)

    trail = admin_client(roles.ADMINISTRATOR).get(reverse("admin:recognition_auditevent_changelist")).content.decode()
    assert "Facesite purged what outlived its retention limit: analysed images 1<" in trail
    assert "Facesite purged what outlived its retention limit: nothing<" in trail
    assert "Facesite deleted 1 stray file from storage<" in trail
    dashboard = admin_client(roles.ADMINISTRATOR).get(reverse("admin:index")).content.decode()
    assert "retention limit: analysed images 1<" in dashboard
    assert "retention limit: nothing" not in dashboard, "a quiet night's purge stays in the trail, off the dashboard"


def test_the_trail_tells_what_was_done_with_a_token_or_an_access_key_from_the_rest():
    admin = admin_client(roles.ADMINISTRATOR)
    with acting_with(API_TOKEN):
        image_ingest(data=images.jpeg(seed=11), filename="by-script.jpg", uploaded_by=admin.user)
    with acting_with(access_key_credential("AKIAEXAMPLE")):
        image_ingest(data=images.jpeg(seed=12), filename="by-boto3.jpg", uploaded_by=admin.user)
    image_ingest(data=images.jpeg(seed=13), filename="in-the-admin.jpg", uploaded_by=admin.user)

    trail = reverse("admin:recognition_auditevent_changelist")
    shown = {kind: admin.get(f"{trail}?credential={kind}").content.decode() for kind in ("token", "key", "none")}
    assert "by-script.jpg" in shown["token"] and "by-boto3.jpg" not in shown["token"]
    assert "by-boto3.jpg" in shown["key"] and "(with access key AKIAEXAMPLE)" in shown["key"]
    assert "in-the-admin.jpg" in shown["none"] and "by-script.jpg" not in shown["none"]
    assert "in-the-admin.jpg" not in shown["token"] + shown["key"]


def test_videos_endpoints_and_deliveries_are_named_and_linked_in_the_trail():
    admin = admin_client(roles.ADMINISTRATOR)
    clip = video_upload(file=io.BytesIO(video([(None, 1.0)])), filename="lobby.mp4", uploaded_by=admin.user)
    endpoint = Endpoint(name="ERP", url="https://erp.facesite.invalid/hook", events=["image.analysed"])
    endpoint_save(endpoint=endpoint, changed=[], secret=SecretChange.GENERATE, actor=admin.user)

    trail = admin.get(reverse("admin:recognition_auditevent_changelist")).content.decode()
    name = admin.user.username
    assert f'{name} uploaded <a href="{reverse("admin:videos_video_change", args=[clip.pk])}">lobby.mp4</a>' in trail
    link = reverse("admin:integrations_endpoint_change", args=[endpoint.pk])
    assert f'{name} created the endpoint <a href="{link}">ERP</a>' in trail
