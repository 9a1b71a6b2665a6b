"""Subject access: everything held about one person in one zip file, from the admin or a command, with the
real local engine; their own faces only, for those allowed, audited."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from PIL import Image as PILImage

from backoffice import roles
from recognition.admin.people import EXPORTS_AT_ONCE
from recognition.exceptions import NotAllowed
from recognition.models import AuditEvent, Face, PersonExport
from recognition.services.subject_access import person_export
from tests.conftest import client_for
from tests.factories import PersonFactory, UserFactory
from tests.recognition.test_admin import admin_client

pytestmark = pytest.mark.django_db


def exported(client, person) -> zipfile.ZipFile:
    changelist = reverse("admin:recognition_person_changelist")
    response = client.post(changelist, {"action": "export_data", "_selected_action": [str(person.pk)]})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert f'filename="facesite-{person.external_id}-' in response["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def read_json(archive: zipfile.ZipFile, name: str):
    return json.loads(archive.read(name))


def test_an_administrator_exports_everything_held_about_a_person_and_nothing_about_others(obama_seen):
    archive = exported(admin_client(roles.ADMINISTRATOR), obama_seen)
    assert read_json(archive, "person.json")["external_id"] == "OBAMA-44"

    [reference] = read_json(archive, "reference-faces.json")
    assert reference["collection"] == "default"
    photo = PILImage.open(io.BytesIO(archive.read(reference["photo"])))
    assert photo.format == "JPEG" and not photo.getexif(), "the photo without its metadata"

    sightings = read_json(archive, "sightings.json")
    assert sorted(s["file_name"] for s in sightings) == ["alone.jpg", "with-biden.jpg"]
    assert all(s["similarity"] >= 80 and s["estimated_as_stored"]["AgeRange"]["Low"] > 0 for s in sightings)
    for sighting in sightings:  # in words a person reads: "age 45–53", "male, 99 % sure", "smiling: no, 97 % sure"
        stored, words = sighting["estimated_as_stored"], sighting["estimated"]
        assert words["age"] == f"{stored['AgeRange']['Low']}–{stored['AgeRange']['High']}"
        assert words["gender"].startswith(stored["Gender"]["Value"].lower() + ", ") and words["gender"].endswith(
            "% sure"
        )
        assert words["smiling"].split(",")[0] == ("yes" if stored["Smile"]["Value"] else "no")
        likeliest = max(stored["Emotions"], key=lambda emotion: emotion["Confidence"])["Type"].lower()
        assert words["expression"].startswith(likeliest + ", ")
    crops = [PILImage.open(io.BytesIO(archive.read(s["photo"]))) for s in sightings]
    assert all(crop.size == (160, 160) for crop in crops), "their own face, cut out of photos others are in"
    biden_faces = {str(f.pk) for f in Face.objects.filter(person__external_id="BIDEN-46")}
    assert not [name for name in archive.namelist() if any(face in name for face in biden_faces)]

    [check] = read_json(archive, "badge-checks.json")
    assert check["badge"] == "OBAMA-44" and check["outcome"] == "match"
    assert "the 2 face(s) matched to them" in archive.read("README.txt").decode()

    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.PERSON_EXPORT)
    assert event.object_id == str(obama_seen.pk)
    assert event.details == {"reference_faces": 1, "sightings": 2, "badge_checks": 1}


def test_only_administrators_export_and_several_people_are_exported_in_the_background(obama_and_biden):
    obama, biden = obama_and_biden
    operator = admin_client(roles.OPERATOR)
    changelist = reverse("admin:recognition_person_changelist")
    assert b"export_data" not in operator.get(changelist).content
    refused = operator.post(changelist, {"action": "export_data", "_selected_action": [str(obama.pk)]})
    assert "Content-Disposition" not in refused, "no file for an Operator"
    with pytest.raises(NotAllowed):
        person_export(person=obama, actor=operator.user)

    administrator = admin_client(roles.ADMINISTRATOR)
    both = administrator.post(
        changelist, {"action": "export_data", "_selected_action": [str(obama.pk), str(biden.pk)]}, follow=True
    )
    assert "Each of the 2 people gets an export of their own: it is made in the background" in both.content.decode()
    assert set(PersonExport.objects.values_list("person", "status")) == {(obama.pk, "pending"), (biden.pk, "pending")}
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PERSON_EXPORT).exists(), "none made while it waited"

    crowd = [PersonFactory().pk for _ in range(EXPORTS_AT_ONCE - 1)] + [obama.pk, biden.pk]
    too_many = administrator.post(changelist, {"action": "export_data", "_selected_action": crowd}, follow=True)
    assert f"Select at most {EXPORTS_AT_ONCE} people to export at once" in too_many.content.decode()
    assert PersonExport.objects.count() == 2, "nothing more asked for"


def test_a_photo_missing_from_storage_is_said_to_be_missing(obama_and_biden, media_root):
    obama, _ = obama_and_biden
    reference = Face.objects.references().get(person=obama)
    for stored in media_root.rglob(reference.image.file.name.rsplit("/", 1)[-1]):
        stored.unlink()
    archive = exported(admin_client(roles.ADMINISTRATOR), obama)
    assert read_json(archive, "reference-faces.json")[0]["photo"] is None
    assert "missing from storage" in archive.read("README.txt").decode()


def test_the_command_writes_the_zip_and_never_over_another_file(obama_and_biden, tmp_path):
    target = tmp_path / "request-17.zip"
    out = io.StringIO()
    call_command("export_person", "OBAMA-44", output=str(target), stdout=out)
    assert "Wrote everything held about Barack Obama (OBAMA-44)" in out.getvalue()
    assert read_json(zipfile.ZipFile(target), "person.json")["name"] == "Barack Obama"
    with pytest.raises(CommandError, match="exists already"):
        call_command("export_person", "OBAMA-44", output=str(target))
    with pytest.raises(CommandError, match="No person has the external id or id 'NOBODY'"):
        call_command("export_person", "NOBODY")


def test_an_integration_exports_through_the_api_with_the_permission(obama_and_biden, admin_client_api, api_client):
    obama, _ = obama_and_biden
    url = f"/api/people/{obama.pk}/export/"
    refused = api_client.get(url)  # an Operator's token
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    response = admin_client_api.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert read_json(archive, "person.json")["external_id"] == "OBAMA-44"
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.PERSON_EXPORT)
    assert event.actor.groups.filter(name=roles.ADMINISTRATOR).exists(), "one export, by the administrator"


def test_an_export_too_large_for_a_web_request_is_refused_with_the_ways_to_make_it(obama_seen, settings, tmp_path):
    settings.FACESITE_EXPORT_WEB_MAX_SIGHTINGS = 1  # Obama was seen twice
    answer = client_for(UserFactory(role=roles.ADMINISTRATOR)).get(f"/api/people/{obama_seen.pk}/export/")
    assert answer.status_code == 422 and answer.json()["code"] == "export_too_large"
    detail = answer.json()["detail"]
    assert "seen 2 times" in detail and "manage.py export_person OBAMA-44" in detail and "/exports/" in detail
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PERSON_EXPORT).exists(), "nothing was exported"
    call_command("export_person", "OBAMA-44", output=str(tmp_path / "obama.zip"), stdout=io.StringIO())
    assert len(read_json(zipfile.ZipFile(tmp_path / "obama.zip"), "sightings.json")) == 2, "the command has no limit"
