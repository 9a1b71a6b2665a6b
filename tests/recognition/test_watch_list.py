"""The watch list: an alert row, one e-mail and one signed person.watched delivery per sighting of a watched
person (or unknown face in a watched collection), repeats held back."""

from __future__ import annotations

import pytest
from django.core import mail
from lxml import etree

from integrations.models import Delivery, Endpoint
from integrations.services.sending import delivery_send, signature
from integrations.xml import schema
from recognition.models import Collection, Image, WatchAlert
from recognition.services.analysis import image_analyse
from recognition.services.erasure import person_erase
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from recognition.services.watch import SEND_WATCH_ALERT, watch_alert_email
from tests import images
from tests.factories import PersonFactory
from tests.helpers import queued_tasks

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_queues")]

PHOTO = images.jpeg((96, 72), seed=401)


@pytest.fixture
def watched(media_root, settings):
    settings.FACESITE_WATCH_EMAILS = ["security@example.org"]
    settings.FACESITE_PUBLIC_URL = "https://faces.example.org"
    person = PersonFactory(name="Mallory Watched", external_id="W-7", watched=True)
    person_enroll(person=person, data=PHOTO)
    return person


def sighting(data: bytes = PHOTO, collection: Collection | None = None) -> Image:
    return image_analyse(image_id=image_ingest(data=data, collection=collection).pk)


def test_a_watched_person_identified_is_one_alert_one_email_and_one_signed_delivery(
    watched, receiver, django_capture_on_commit_callbacks
):
    endpoint = Endpoint.objects.create(name="Guard desk", url=receiver.url, secret="watch-secret",
                                       events=["person.watched"])  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        image = sighting()
    [alert] = WatchAlert.objects.all()
    assert alert.kind == "person" and alert.person == watched and alert.image == image
    assert alert.face == image.faces.get()
    assert queued_tasks("deliveries").count(SEND_WATCH_ALERT) == 1, "its e-mail waits for the io worker"

    assert watch_alert_email(alert_id=str(alert.pk))  # what the task does, on the deliveries queue
    [email] = mail.outbox
    assert email.subject == "Facesite: Mallory Watched seen in default" and email.to == ["security@example.org"]
    assert f"https://faces.example.org/admin/recognition/image/{image.pk}/change/" in email.body
    html, _ = email.alternatives[0]
    assert 'src="cid:face"' in html and "Mallory Watched" in html
    [crop] = [part for part in email.attachments if getattr(part, "get", None) and part.get("Content-ID") == "<face>"]
    assert crop.get_content_type() == "image/jpeg"
    assert not watch_alert_email(alert_id=str(alert.pk)), "e-mailed once"
    assert len(mail.outbox) == 1

    [delivery] = Delivery.objects.filter(endpoint=endpoint)
    assert delivery.event == "person.watched"
    delivery_send(delivery_id=str(delivery.pk))
    [post] = receiver.received
    assert post.headers["Facesite-Event"] == "person.watched"
    expected = signature("watch-secret", post.headers["Facesite-Timestamp"], post.body)
    assert post.headers["Facesite-Signature"] == expected
    document = etree.fromstring(post.body)
    schema().assertValid(document)
    assert document.get("type") == "person.watched" and b"W-7" in post.body


def test_repeats_within_the_window_raise_no_alert(watched, settings):
    sighting()
    sighting(images.jpeg((96, 72), seed=401, quality=80))  # the same person again, another frame
    assert WatchAlert.objects.count() == 1
    settings.FACESITE_WATCH_REPEAT_SECONDS = 0
    sighting(images.jpeg((96, 72), seed=401, quality=70))
    assert WatchAlert.objects.count() == 2


def test_no_alert_for_people_not_watched_or_strangers_in_unwatched_collections(watched):
    watched.watched = False
    watched.save()
    sighting()
    sighting(images.jpeg((96, 72), seed=999))  # no one enrolled looks like this
    assert not WatchAlert.objects.exists()


def test_an_unknown_face_in_a_watched_collection_is_an_alert(media_root, settings):
    settings.FACESITE_WATCH_EMAILS = ["security@example.org"]
    vault = Collection.objects.create(name="vault", watched=True)
    image = sighting(images.jpeg((96, 72), seed=555), collection=vault)
    [alert] = WatchAlert.objects.all()
    assert alert.kind == "unknown" and alert.person is None and alert.collection == vault
    assert alert.face == image.faces.get()
    watch_alert_email(alert_id=str(alert.pk))
    assert mail.outbox[0].subject == "Facesite: an unknown face in vault"


def test_no_e_mail_is_queued_without_recipients_and_erasure_takes_the_alerts(
    watched, settings, django_capture_on_commit_callbacks
):
    settings.FACESITE_WATCH_EMAILS = []
    with django_capture_on_commit_callbacks(execute=True):
        sighting()
    assert WatchAlert.objects.count() == 1
    assert SEND_WATCH_ALERT not in queued_tasks("deliveries")
    person_erase(person=watched)
    assert not WatchAlert.objects.exists(), "an erased person leaves no alert behind"
