"""Control characters in names and badges are refused at input, and stored ones cannot break an outgoing document."""

import base64

import pytest
from lxml import etree

from integrations.models import Delivery, Endpoint
from integrations.xml import schema
from recognition.models import Person, Verification
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from tests import images
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("field", "value"), [("name", "Ada\x1b[31m"), ("external_id", "B-1\x07"), ("name", "Ada\nX")])
def test_people_with_control_characters_are_refused_with_a_clear_message(api_client, field, value):
    body = {"name": "Ada", "external_id": "B-1", field: value}
    response = api_client.post("/api/people/", body, format="json")
    assert response.status_code == 400
    assert "control character" in response.json()[field][0]
    assert not Person.objects.exists()


def test_notes_keep_their_line_breaks(api_client):
    response = api_client.post("/api/people/", {"name": "Ada", "notes": "Line one\n\tLine two"}, format="json")
    assert response.status_code == 201 and Person.objects.get().notes == "Line one\n\tLine two"


def test_a_badge_with_a_control_character_is_refused_and_nothing_is_recorded(api_client):
    body = {"external_id": "B-1\x1b", "image_base64": base64.b64encode(images.jpeg((96, 72))).decode()}
    response = api_client.post("/api/verify/", body, format="json")
    assert response.status_code == 400 and "U+001B" in response.json()["external_id"][0]
    assert not Verification.objects.exists()


def test_stored_control_characters_cannot_stop_analysis_or_its_deliveries():
    """Text stored before the check existed (or written around it) is made safe in the XML, not fatal."""
    Endpoint.objects.create(name="Door", url="http://127.0.0.1:9/", secret="s" * 20,
                            events=["image.analysed", "person.identified", "verification.result"])  # fmt: skip
    person = PersonFactory(external_id="B-7")
    photo = images.jpeg((96, 72), seed=7)
    person_enroll(person=person, data=photo)
    # (PostgreSQL refuses NUL in text outright, so only what a database can hold is stored here.)
    Person.objects.filter(pk=person.pk).update(name="Ada\x01\x1bLovelace\ufffe", external_id="B\x0b7")

    image = image_analyse(image_id=image_ingest(data=photo).pk)
    assert image.status == "done" and image.faces.get().person_id == person.pk
    documents = [etree.fromstring(d.encode()) for d in Delivery.objects.values_list("payload", flat=True)]
    assert len(documents) == 2 and all(schema().validate(d) for d in documents)
    assert b"Ada\xef\xbf\xbd\xef\xbf\xbdLovelace" in etree.tostring(documents[0], encoding="UTF-8")


def test_a_recorded_check_of_a_badge_with_a_stored_control_character_is_delivered(settings):
    from recognition.services.matching import person_verify

    Endpoint.objects.create(name="Door", url="http://127.0.0.1:9/", secret="s" * 20, events=["verification.result"])
    PersonFactory(external_id="B-8")
    Person.objects.filter(external_id="B-8").update(name="Grace\x01Hopper")
    check = person_verify(external_id="B-8", data=images.jpeg((96, 72), seed=8), threshold=80)
    assert check.outcome == "no_reference"
    [payload] = Delivery.objects.values_list("payload", flat=True)
    assert schema().validate(etree.fromstring(payload.encode())) and "Grace\ufffdHopper" in payload
