"""Only people who may enrol can turn a sighting into a reference face, and only a good one, through the engine."""

import base64

import pytest
from django.test import Client
from django.urls import reverse

from backoffice import roles
from recognition.exceptions import EnrolmentError, NotAllowed
from recognition.models import Face
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from recognition.services.review import face_review_confirm
from tests import images
from tests.conftest import client_for
from tests.engines import ServerSideEngine
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def sighting(seed: int) -> Face:
    image = image_analyse(image_id=image_ingest(data=images.jpeg((160, 120), seed=seed)).pk)
    return image.faces.get(is_reference=False)


def staff(role: str) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, role=role))
    return client


def verify(badge: str, photo: bytes) -> dict:
    operator = client_for(UserFactory(role=roles.OPERATOR))
    body = {"external_id": badge, "image_base64": base64.b64encode(photo).decode()}
    return operator.post("/api/verify/", body, format="json").json()


def test_a_reviewer_cannot_make_their_face_pass_as_a_badge_holder():
    holder = PersonFactory(external_id="B-100")
    person_enroll(person=holder, data=images.jpeg((160, 120), seed=1))
    intruder_photo = images.jpeg((160, 120), seed=2)
    face = image_analyse(image_id=image_ingest(data=intruder_photo).pk).faces.get(is_reference=False)
    assert verify("B-100", intruder_photo)["outcome"] == "no_match"

    # The reviewer opens the intruder's face in the review queue, reassigns it and ticks "enrol".
    page = reverse("admin:recognition_faceforreview_change", args=[face.pk])
    reviewer = staff(roles.REVIEWER)
    assert "add_as_reference" not in reviewer.get(page).content.decode()
    reviewer.post(page, {"person": str(holder.pk), "add_as_reference": "on"})
    reviewer.post(
        reverse("admin:recognition_faceforreview_changelist"),
        {"action": "confirm_and_enrol", "_selected_action": [str(face.pk)]},
    )

    assert Face.objects.filter(person=holder, is_reference=True).count() == 1, "no reference was added"
    assert verify("B-100", intruder_photo)["outcome"] == "no_match"


def test_the_service_refuses_a_reviewer_and_decides_nothing():
    face = sighting(seed=3)
    person = PersonFactory()
    with pytest.raises(NotAllowed):
        face_review_confirm(face=face, reviewer=UserFactory(role=roles.REVIEWER), person=person, add_reference=True)
    face.refresh_from_db()
    assert face.review_state == Face.Review.NONE and face.person is None


def test_a_sighting_too_small_to_identify_anyone_is_not_enrolled(settings):
    face = sighting(seed=4)
    settings.FACESITE_ENROL_MIN_FACE_PIXELS = 200
    with pytest.raises(EnrolmentError) as refused:
        face_review_confirm(
            face=face, reviewer=UserFactory(role=roles.OPERATOR), person=PersonFactory(), add_reference=True
        )
    assert refused.value.code == "face_too_small"
    face.refresh_from_db()
    assert face.review_state == Face.Review.NONE, "a failed enrolment leaves the face undecided"
    assert not Face.objects.filter(is_reference=True).exists()


def test_an_operator_enrols_a_sighting_through_an_engine_with_server_side_collections(settings, media_root):
    settings.RECOGNITION_ENGINE = {"BACKEND": "tests.engines.ServerSideEngine", "OPTIONS": {}}
    ServerSideEngine.indexed.clear()
    face = sighting(seed=5)
    person = PersonFactory(external_id="B-55")
    face_review_confirm(face=face, reviewer=UserFactory(role=roles.OPERATOR), person=person, add_reference=True)

    reference = Face.objects.get(person=person, is_reference=True)
    assert reference.engine_face_id in ServerSideEngine.indexed["default"], "indexed by the engine"
    assert reference.image != face.image and reference.image.source == "enrolment"
    assert reference.image.file and (media_root / reference.image.file.name).exists()
    photo = face.image.read_bytes()
    assert verify("B-55", photo)["outcome"] == "match", "the badge holder's own sighting now verifies"
