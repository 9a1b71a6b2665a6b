"""A video through the running system: the API, a real Celery worker on the real Redis broker (chunks on the
video queue), and the video.analysed document (sightings and labels) at a loopback endpoint, valid against
the XSD."""

import io

import pytest
from django.core.files.storage import default_storage
from lxml import etree

from backoffice import roles
from integrations.models import Delivery, Endpoint
from integrations.xml import schema
from recognition.services.people import person_enroll
from tests.clips import video
from tests.conftest import client_for
from tests.factories import PersonFactory, UserFactory
from tests.helpers import wait_for
from tests.images import FIXTURES
from videos.models import Video

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_video_is_analysed_in_chunks_by_a_worker_and_reported(settings, local_engine, celery_worker, receiver):
    settings.FACESITE_VIDEO_CHUNK_SECONDS = 1.5
    obama = PersonFactory(name="Barack Obama", external_id="OBAMA-44")
    person_enroll(person=obama, data=(FIXTURES / "obama3.jpg").read_bytes())
    Endpoint.objects.create(name="Archive", url=receiver.url, secret="s" * 20,
                            events=["video.analysed", "image.analysed", "person.identified"])  # fmt: skip
    operator = client_for(UserFactory(role=roles.OPERATOR))

    clip = video([(None, 1.0), ("obama.jpg", 2.0), (None, 1.5)])
    answer = operator.post("/api/videos/", {"file": io.BytesIO(clip), "features": "faces,labels"}, format="multipart")
    assert answer.status_code == 202
    video_id = answer.json()["id"]
    done = wait_for(lambda: Video.objects.filter(pk=video_id, status__in=["done", "failed"]).first(), timeout=90)
    assert done.status == "done", done.error
    assert done.chunks.count() == 3
    sighting = done.sightings.get()
    assert sighting.person == obama and 0.5 <= sighting.first_at <= 1.5 and 2.0 <= sighting.last_at <= 3.0

    posted = wait_for(lambda: receiver.received, timeout=30)
    assert Delivery.objects.filter(image=sighting.frame).count() == 0, "a video's frames are told of with the video"
    document = etree.fromstring(posted[0].body)
    schema().assertValid(document)
    assert document.get("type") == "video.analysed"
    (person,) = document.iter("{urn:facesite:event:1}person")
    assert person.get("name") == "Barack Obama" and person.get("externalId") == "OBAMA-44"
    labels = {label.get("name"): label for label in document.iter("{urn:facesite:event:1}label")}
    assert labels["Person"].get("kind") == "label" and 0.5 <= float(labels["Person"].get("firstAt")) <= 1.5
    assert int(labels["Person"].get("frames")) >= 3, "the stretches of the labels it was analysed for too"
    assert not default_storage.exists(f"videos/frames/{video_id}/0-0.jpg"), "the chunks' frames are cleaned up"
