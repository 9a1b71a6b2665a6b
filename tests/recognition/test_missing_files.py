"""A stored photo gone from storage (removed by hand, a volume or bucket lost or not restored): reads answer
a clear 404, not a 500, and the work that only wanted a picture of it carries on without one."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from backoffice import roles
from kiosk.models import Kiosk
from kiosk.services import kiosk_check
from recognition.engine_handler import get_engine
from recognition.models import Collection, Face, Image, WatchAlert
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from recognition.services.reindex import references_reindex
from recognition.services.watch import watch_alert_email
from tests import images
from tests.conftest import client_for
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db

PHOTO = images.jpeg((160, 120), seed=5)


def lose_file(image: Image) -> str:
    image.file.storage.delete(image.file.name)
    return f"The stored file of this image ({image.file.name}) is missing from storage."


def test_reading_the_picture_answers_404_saying_the_file_is_missing():
    image = image_analyse(image_id=image_ingest(data=PHOTO).pk)
    message = lose_file(image)
    api = client_for(UserFactory(role=roles.ADMINISTRATOR))
    for query in ("", "?original=1"):
        response = api.get(f"/api/images/{image.pk}/file/{query}")
        assert response.status_code == 404, query
        assert response.json() == {"detail": message, "code": "file_missing"}
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, role=roles.ADMINISTRATOR))
    thumbnail = reverse("admin:recognition_image_thumbnail", args=[image.pk, 160])
    assert admin.get(thumbnail).status_code == 404
    crop = reverse("admin:recognition_image_face_crop", args=[image.faces.get().pk])
    assert admin.get(crop).status_code == 404
    assert admin.get(reverse("admin:recognition_image_change", args=[image.pk])).status_code == 200


def test_a_door_check_still_opens_without_the_reference_thumbnail():
    ada = PersonFactory(name="Ada", external_id="B-1")
    lose_file(person_enroll(person=ada, data=PHOTO).image)
    kiosk = Kiosk.objects.create(name="front-door", user=UserFactory(role=roles.KIOSK))
    answer = kiosk_check(kiosk=kiosk, badge="B-1", photo=PHOTO, frames=[])
    assert answer.accepted and answer.name == "Ada" and answer.thumbnail == ""


def test_a_watch_alert_is_e_mailed_without_the_crop(settings):
    settings.FACESITE_WATCH_EMAILS = ["security@example.org"]
    vault = Collection.objects.create(name="vault", watched=True)
    image = image_analyse(image_id=image_ingest(data=PHOTO, collection=vault).pk)
    lose_file(image)
    assert watch_alert_email(alert_id=str(WatchAlert.objects.get().pk))
    [email] = mail.outbox
    assert email.subject == "Facesite: an unknown face in vault" and not email.attachments
    assert "cid:face" not in email.alternatives[0][0], "no picture promised that is not there"


def test_reindex_reports_a_missing_photo_and_indexes_the_others():
    kept, lost = (person_enroll(person=PersonFactory(), data=images.jpeg((160, 120), seed=s)) for s in (5, 6))
    message = lose_file(lost.image)
    report = references_reindex(collection=Collection.get_default(), engine=get_engine(), force=True)
    assert report.indexed == 1 and report.failed == [(lost, message)]
    assert Face.objects.get(pk=kept.pk).engine_face_id


def test_on_s3_a_missing_object_answers_the_same_404(s3_media):
    image = image_analyse(image_id=image_ingest(data=PHOTO).pk)
    message = lose_file(image)
    api = client_for(UserFactory(role=roles.ADMINISTRATOR))
    response = api.get(f"/api/images/{image.pk}/file/?original=1")
    assert (response.status_code, response.json()) == (404, {"detail": message, "code": "file_missing"})
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, role=roles.ADMINISTRATOR))
    assert admin.get(reverse("admin:recognition_image_thumbnail", args=[image.pk, 160])).status_code == 404
