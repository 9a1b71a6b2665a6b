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


def test_every_error_the_api_answers_has_a_code(api_client, reviewer_client):
    """DRF's own refusals too, as the application's errors: a client switches on ``code`` alone."""
    from rest_framework.test import APIClient

    anonymous, bad_token = APIClient(), APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    answers = {
        "not_authenticated": anonymous.get("/api/images/"),
        "authentication_failed": bad_token.get("/api/images/"),
        "permission_denied": reviewer_client.post("/api/people/", {"name": "Ada"}, format="json"),
        "not_found": api_client.get("/api/images/00000000-0000-0000-0000-000000000000/"),
        "method_not_allowed": api_client.delete("/api/search/"),
        "unsupported_media_type": api_client.generic("POST", "/api/search/", "hello", content_type="text/plain"),
        "parse_error": api_client.generic("POST", "/api/search/", "{bad", content_type="application/json"),
    }
    for code, response in answers.items():
        assert response.json().get("code") == code, (code, response.status_code, response.json())
        assert isinstance(response.json()["detail"], str)


def test_a_path_no_api_view_answers_is_a_json_404_and_elsewhere_still_a_page(client):
    api = client.get("/api/no-such-thing/")
    assert (api.status_code, api["Content-Type"]) == (404, "application/json")
    assert api.json() == {"detail": "Not found.", "code": "not_found"}
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_an_unexpected_failure_in_the_api_is_json_naming_the_request_id(api_client, monkeypatch):
    from recognition.api.images import ImageViewSet

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ImageViewSet, "list", broken)
    api_client.raise_request_exception = False
    response = api_client.get("/api/images/", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 500 and response["X-Request-ID"] == "req-42"
    assert response.json() == {
        "detail": "The server failed to answer; it is logged under request id req-42.",
        "code": "server_error",
        "request_id": "req-42",
    }
