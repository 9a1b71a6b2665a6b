"""Subject access exports too large to make while a request waits are made by a real worker, downloaded by
those allowed until they expire, and go with the person; each step audited."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.storage import FileSystemStorage
from django.urls import reverse
from django.utils import timezone

from backoffice import roles
from recognition.models import AuditEvent, PersonExport
from recognition.services import exports
from recognition.services.erasure import person_erase
from recognition.services.exports import export_make, export_request, exports_sweep_lost
from recognition.services.retention import retention_purge
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.helpers import wait_for
from tests.recognition.test_admin import admin_client
from tests.recognition.test_subject_access import read_json

pytestmark = pytest.mark.django_db(transaction=True)
Status = PersonExport.Status


@pytest.fixture
def too_large(settings):
    settings.FACESITE_EXPORT_WEB_MAX_SIGHTINGS = 1  # Obama was seen twice


def made(export: PersonExport) -> PersonExport:
    wait_for(lambda: PersonExport.objects.get(pk=export.pk).status != Status.PENDING, timeout=60)
    return PersonExport.objects.get(pk=export.pk)


def unzipped(response) -> zipfile.ZipFile:
    assert response.status_code == 200 and response["Content-Type"] == "application/zip", response
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def stored(media_root) -> list[str]:
    return sorted(str(p.relative_to(media_root)) for p in media_root.rglob("exports/*"))


def test_the_admin_has_a_large_export_made_in_the_background_and_downloads_it(
    obama_seen, too_large, celery_worker, media_root
):
    client = admin_client(roles.ADMINISTRATOR)
    changelist = reverse("admin:recognition_person_changelist")
    page = client.post(changelist, {"action": "export_data", "_selected_action": [str(obama_seen.pk)]}, follow=True)
    assert "Content-Disposition" not in page and "holds: it is made in the background" in page.content.decode()

    export = made(PersonExport.objects.get(person=obama_seen))
    assert export.status == Status.READY and stored(media_root) == [export.file.name]
    listing = client.get(reverse("admin:recognition_personexport_changelist") + f"?person={obama_seen.pk}").content
    download = reverse("admin:recognition_personexport_download", args=[export.pk])
    assert download.encode() in listing and b"Ready" in listing
    person_page = reverse("admin:recognition_person_change", args=[obama_seen.pk])
    assert f'ready <a href="{download}">' in client.get(person_page).content.decode(), "on the person's page too"
    operators_view = admin_client(roles.OPERATOR).get(person_page)
    assert operators_view.status_code == 200 and "Subject access exports" not in operators_view.content.decode()

    dashboard = client.get(reverse("admin:index")).content.decode()
    assert "Subject access exports: <strong>1</strong> ready to download, <strong>0</strong> being made" in dashboard
    assert "Subject access exports" not in admin_client(roles.OPERATOR).get(reverse("admin:index")).content.decode()

    archive = unzipped(client.get(download))
    assert len(read_json(archive, "sightings.json")) == 2, "every sighting: a worker has no request to time out"
    audited = AuditEvent.objects.filter(object_id=str(obama_seen.pk), action__startswith="person.export")
    assert [(e.action, e.actor_name) for e in audited.order_by("pk")] == [
        (AuditEvent.Action.PERSON_EXPORT_REQUEST, client.user.username),
        (AuditEvent.Action.PERSON_EXPORT, client.user.username),  # made by the worker, for whoever asked
        (AuditEvent.Action.PERSON_EXPORT_DOWNLOAD, client.user.username),
    ]

    listing_url = reverse("admin:recognition_personexport_changelist")
    client.post(listing_url, {"action": "delete_selected", "_selected_action": [str(export.pk)], "post": "yes"})
    assert not PersonExport.objects.exists() and stored(media_root) == [], "deleted early, with its zip"


def test_an_integration_asks_through_the_api_polls_and_downloads(obama_seen, celery_worker, too_large):
    administrator = client_for(UserFactory(role=roles.ADMINISTRATOR))
    refused = administrator.get(f"/api/people/{obama_seen.pk}/export/")
    assert refused.status_code == 422 and f"POST /api/people/{obama_seen.pk}/exports/" in refused.json()["detail"]

    asked = administrator.post(f"/api/people/{obama_seen.pk}/exports/")
    assert asked.status_code == 202 and asked.json()["person"]["external_id"] == "OBAMA-44"
    poll = asked["Location"]
    wait_for(lambda: administrator.get(poll).json()["status"] != "pending", timeout=60)
    ready = administrator.get(poll).json()
    assert ready["status"] == "ready" and ready["size"] > 0 and ready["download"].endswith("/download/")
    assert len(read_json(unzipped(administrator.get(ready["download"])), "sightings.json")) == 2
    listed = administrator.get("/api/exports/", {"person": str(obama_seen.pk)}).json()["results"]
    assert [e["id"] for e in listed] == [ready["id"]]

    operator = client_for(UserFactory(role=roles.OPERATOR))
    for answer in (operator.post(f"/api/people/{obama_seen.pk}/exports/"), operator.get(ready["download"])):
        assert answer.status_code == 403, "only those who may export people's data"
    assert administrator.delete(poll).status_code == 204
    assert administrator.get(poll).status_code == 404


def test_asking_again_while_one_is_made_answers_that_one_and_unready_ones_are_not_served(obama_seen):
    administrator = UserFactory(role=roles.ADMINISTRATOR)
    first = export_request(person=obama_seen, actor=administrator)
    assert export_request(person=obama_seen, actor=administrator) == first, "no second zip for a second click"
    download = client_for(administrator).get(f"/api/exports/{first.pk}/download/")
    assert download.status_code == 409 and download.json()["code"] == "export_pending"

    administrator.groups.clear()  # their permission withdrawn before a worker got to it
    assert export_make(export_id=str(first.pk)) == Status.FAILED
    failed = PersonExport.objects.get(pk=first.pk)
    assert "permission to export" in failed.error and not failed.file
    answer = client_for(UserFactory(role=roles.ADMINISTRATOR)).get(f"/api/exports/{first.pk}/download/")
    assert answer.status_code == 409 and answer.json()["code"] == "export_failed"


def test_an_export_goes_when_it_expires_and_with_the_person_erased(obama_seen, media_root):
    administrator = UserFactory(role=roles.ADMINISTRATOR)
    old = export_request(person=obama_seen, actor=administrator)
    export_make(export_id=str(old.pk))
    PersonExport.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    assert client_for(administrator).get(f"/api/exports/{old.pk}/").json()["download"] is None, "no link to a 409"
    expired = client_for(administrator).get(f"/api/exports/{old.pk}/download/")
    assert expired.status_code == 409 and expired.json()["code"] == "export_expired"
    recent = export_request(person=obama_seen, actor=administrator)
    export_make(export_id=str(recent.pk))
    assert len(stored(media_root)) == 2

    assert retention_purge()["exports"] == 1
    [kept] = PersonExport.objects.all()
    assert kept == recent and stored(media_root) == [kept.file.name]
    person_erase(person=obama_seen)
    assert not PersonExport.objects.exists() and stored(media_root) == [], "no zip of an erased person's faces"


def test_a_zip_made_for_an_export_deleted_meanwhile_is_not_kept(obama_seen, media_root, monkeypatch):
    export = export_request(person=obama_seen, actor=UserFactory(role=roles.ADMINISTRATOR))
    real = exports.person_export

    def deleted_meanwhile(**kwargs):
        archive = real(**kwargs)
        exports.export_delete(export=PersonExport.objects.get(pk=export.pk))  # someone deletes it, or erases them
        return archive

    monkeypatch.setattr(exports, "person_export", deleted_meanwhile)
    assert export_make(export_id=str(export.pk)) is None
    assert stored(media_root) == [], "the zip made is deleted again"
    assert export_make(export_id=str(export.pk)) is None, "a redelivered task finds nothing to make"


def test_the_sweeper_makes_again_an_export_whose_message_was_lost(obama_seen, settings, celery_worker):
    export = export_request(person=obama_seen, actor=UserFactory(role=roles.ADMINISTRATOR))
    made(export)
    PersonExport.objects.filter(pk=export.pk).update(status=Status.PENDING, file="", started_at=None,
                                                     queued_at=timezone.now() - timedelta(minutes=1))  # fmt: skip
    assert exports_sweep_lost() == {"exports_requeued": 0, "exports_gave_up": 0}, "queued a moment ago: waiting"
    settings.FACESITE_PENDING_RETRY_AFTER = 30  # as if the broker lost the message, 30 s and more ago
    assert exports_sweep_lost() == {"exports_requeued": 1, "exports_gave_up": 0}
    assert made(export).status == Status.READY and made(export).attempts == 2
    assert exports_sweep_lost() == {"exports_requeued": 0, "exports_gave_up": 0}, "nothing left to make"


def test_the_sweeper_makes_again_an_export_whose_worker_was_lost_and_gives_up_after_a_few(obama_seen, settings):
    export = export_request(person=obama_seen, actor=UserFactory(role=roles.ADMINISTRATOR))
    running = timezone.now() - timedelta(seconds=settings.FACESITE_EXPORT_TIME_LIMIT - 60)
    PersonExport.objects.filter(pk=export.pk).update(started_at=running, attempts=1)
    assert exports_sweep_lost() == {"exports_requeued": 0, "exports_gave_up": 0}, "a worker may still be on it"
    died = timezone.now() - timedelta(seconds=settings.FACESITE_EXPORT_TIME_LIMIT + 120)
    PersonExport.objects.filter(pk=export.pk).update(started_at=died)
    assert exports_sweep_lost() == {"exports_requeued": 1, "exports_gave_up": 0}
    PersonExport.objects.filter(pk=export.pk).update(started_at=died, attempts=settings.FACESITE_ANALYSIS_MAX_ATTEMPTS)
    assert exports_sweep_lost() == {"exports_requeued": 0, "exports_gave_up": 1}
    failed = PersonExport.objects.get(pk=export.pk)
    assert failed.status == Status.FAILED and "manage.py export_person" in failed.error


@pytest.mark.parametrize("fault", ["a full disk", "the task's time limit", "its own deadline"])
def test_an_export_that_cannot_be_made_says_why_and_keeps_nothing(obama_seen, media_root, monkeypatch, settings, fault):
    export = export_request(person=obama_seen, actor=UserFactory(role=roles.ADMINISTRATOR))
    if fault == "a full disk":
        monkeypatch.setattr(
            FileSystemStorage, "_save", lambda *args: (_ for _ in ()).throw(OSError(28, "No space left"))
        )
        why = "The export could not be stored (No space left); nothing was kept."
    elif fault == "the task's time limit":  # a prefork pool's soft limit
        monkeypatch.setattr(exports, "person_export", raising(SoftTimeLimitExceeded()))
        why = "It took longer than a worker's task may"
    else:  # what a pool of threads, which enforces no time limit, leaves to the export itself
        settings.FACESITE_EXPORT_TIME_LIMIT = 30  # a deadline as it starts: past it by the first sighting
        why = "It took longer than a worker's task may"
    assert export_make(export_id=str(export.pk)) == Status.FAILED
    failed = PersonExport.objects.get(pk=export.pk)
    assert failed.error.startswith(why) and not failed.file and stored(media_root) == []


def raising(exc: BaseException):
    def fail(*args, **kwargs):
        raise exc

    return fail


def test_a_ready_export_whose_zip_storage_lost_says_so(obama_seen, media_root):
    administrator = UserFactory(role=roles.ADMINISTRATOR)
    export = export_request(person=obama_seen, actor=administrator)
    export_make(export_id=str(export.pk))
    for zip_file in media_root.rglob("exports/*.zip"):
        zip_file.unlink()  # a volume or bucket restored without it
    answer = client_for(administrator).get(f"/api/exports/{export.pk}/download/")
    assert answer.status_code == 404 and answer.json()["code"] == "file_missing"
    assert "ask for a new one" in answer.json()["detail"]
    page = admin_client(roles.ADMINISTRATOR).get(
        reverse("admin:recognition_personexport_download", args=[export.pk]), follow=True
    )
    assert "missing from storage; ask for a new one" in page.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PERSON_EXPORT_DOWNLOAD).exists(), "nothing went"
