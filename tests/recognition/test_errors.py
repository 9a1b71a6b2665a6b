"""Application errors reach API clients with the status that tells them what to do next."""

import base64

import pytest

from recognition.api.errors import RETRY_AFTER_SECONDS, status_for
from recognition.exceptions import Conflict, EngineFailed, EnrolmentError, ImageRejected, InvalidInput
from recognition.models import Collection, Face, Image
from tests import images
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def unreachable_engine(settings):
    settings.RECOGNITION_ENGINE = {"BACKEND": "tests.engines.UnreachableEngine", "OPTIONS": {}}


def test_compare_with_an_unreachable_engine_answers_503_with_retry_after(api_client, unreachable_engine):
    photo = b64(images.jpeg((96, 72), seed=1))
    response = api_client.post("/api/compare/", {"source": photo, "target": photo}, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == {"detail": "Rate exceeded", "code": "engine_unavailable"}


@pytest.mark.parametrize(
    ("path", "extra"),
    [("/api/search/", {}), ("/api/verify/", {"external_id": "B-1"}), ("/api/people/{person}/faces/", {})],
)
def test_every_synchronous_check_answers_503_while_the_engine_is_unreachable(api_client, unreachable_engine, path,
                                                                            extra):  # fmt: skip
    person = PersonFactory(external_id="B-1")
    # The badge holder needs a reference face for verify to reach the engine.
    image = Image.objects.create(collection=Collection.get_default(), status=Image.Status.DONE)
    Face.objects.create(image=image, left=0, top=0, width=1, height=1, confidence=99, is_reference=True,
                        collection=image.collection, engine="fake", model_version="1", engine_face_id="f-1",
                        person=person)  # fmt: skip
    body = {"image_base64": b64(images.jpeg((96, 72), seed=2)), **extra}
    response = api_client.post(path.format(person=person.pk), body, format="json")
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "engine_unavailable"
    assert int(response["Retry-After"]) > 0


def test_compare_refused_by_the_engine_answers_422_with_the_engines_reason(api_client, settings):
    settings.RECOGNITION_ENGINE = {"BACKEND": "tests.engines.RefusingEngine", "OPTIONS": {}}
    photo = b64(images.jpeg((96, 72), seed=1))
    response = api_client.post("/api/compare/", {"source": photo, "target": photo}, format="json")
    assert response.status_code == 422
    assert response.json() == {
        "detail": "Requested image should be at least 80 pixels wide.",
        "code": "invalid_parameter",
    }
    assert "Retry-After" not in response


def test_each_kind_of_application_error_has_its_status():
    assert status_for(InvalidInput("bad")) == 400
    assert status_for(ImageRejected("truncated")) == 400
    assert status_for(Conflict("not now")) == 409
    assert status_for(EnrolmentError("no face", code="no_face")) == 422
    assert status_for(EngineFailed("refused")) == 422
    assert status_for(EngineFailed("throttled", retryable=True)) == 503


def test_an_unknown_collection_is_named_in_the_field_it_came_from(api_client):
    response = api_client.post(
        "/api/images/", {"image_base64": b64(images.jpeg()), "collection": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"collection": ["No collection is named 'nope'."]}
