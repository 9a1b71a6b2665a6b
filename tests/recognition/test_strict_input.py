"""Input the API does not know is refused with a clear answer and changes nothing: query parameters
that no operation documents, and body fields that its serializer does not have."""

from __future__ import annotations

import re
import uuid

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from recognition.models import Image, Person
from tests.factories import PersonFactory
from tests.images import FIXTURES

pytestmark = pytest.mark.django_db

SCHEMA = SchemaGenerator().get_schema(public=True)
OPERATIONS = [(method.upper(), path, operation) for path, item in SCHEMA["paths"].items()
              for method, operation in item.items()]  # fmt: skip
WITH_BODIES = [(method, path) for method, path, operation in OPERATIONS
               if "application/json" in operation.get("requestBody", {}).get("content", {})]  # fmt: skip


def _url(path: str, person: Person | None = None) -> str:
    """``path`` with its placeholders filled: the person's id where given, otherwise ids nothing has."""
    path = path.replace("{id}", str(person.pk) if person else "1" if "/cameras/" in path else str(uuid.uuid4()))
    return path.replace("{face_id}", str(uuid.uuid4()))


def _taken(answer: dict) -> set[str]:
    """The parameters a 400 ``unknown_parameter`` says the operation takes."""
    assert answer["code"] == "unknown_parameter", answer
    return set(re.search(r"This operation takes: (.*)\.$", answer["detail"]).group(1).split(", "))


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_every_operation_refuses_a_parameter_it_does_not_document(root_client, method, path, operation):
    response = root_client.generic(method, _url(path) + "?no_such_parameter=1")
    assert response.status_code == 400
    assert "no_such_parameter" in response.json()["detail"]
    documented = {param["name"] for param in operation.get("parameters", []) if param["in"] == "query"}
    assert _taken(response.json()) == documented | {"format"}


@pytest.mark.parametrize(("method", "path"), WITH_BODIES, ids=[f"{m} {p}" for m, p in WITH_BODIES])
def test_every_body_refuses_a_field_its_operation_does_not_take(root_client, method, path):
    person = PersonFactory()
    response = root_client.generic(method, _url(path, person), '{"no_such_field": 1}', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["no_such_field"][0].startswith("Unknown field. This operation takes: ")


def test_the_schema_says_request_bodies_take_no_other_fields():
    bodies = {name: component for name, component in SCHEMA["components"]["schemas"].items()
              if name.endswith("Request")}  # fmt: skip
    assert {"PersonRequest", "PatchedPersonRequest", "ImageCreateRequest", "VerifyRequest"} <= set(bodies)
    assert all(component["additionalProperties"] is False for component in bodies.values())


def test_a_misspelt_filter_is_refused_instead_of_listing_everything(api_client):
    response = api_client.get("/api/images/?statuss=failed&page_size=10")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("Unknown query parameter: statuss. This operation takes: ")
    assert {"status", "page", "page_size", "label"} <= _taken(body)


def test_every_unknown_parameter_is_named(api_client):
    body = api_client.get("/api/people/?serach=ann&orderby=name").json()
    assert body["detail"].startswith("Unknown query parameters: orderby, serach. ")
    assert {"search", "ordering"} <= _taken(body)


def test_the_documented_parameters_and_format_still_work(api_client):
    PersonFactory(name="Ann Lee")
    response = api_client.get("/api/people/?search=ann&ordering=-name&page_size=5&format=json")
    assert response.status_code == 200
    assert [person["name"] for person in response.json()["results"]] == ["Ann Lee"]


def test_one_object_takes_no_listing_parameters(api_client):
    person = PersonFactory()
    assert api_client.get(f"/api/people/{person.pk}/").status_code == 200
    response = api_client.get(f"/api/people/{person.pk}/?external_id=other")
    assert response.status_code == 400
    assert _taken(response.json()) == {"format"}


def test_an_actions_own_parameter_is_known_only_to_that_action(api_client, settings):
    settings.RECOGNITION_ENGINE = {"BACKEND": "tests.engines.FakeEngine", "OPTIONS": {}}
    image = api_client.post("/api/images/", {"file": (FIXTURES / "obama.jpg").open("rb")}, format="multipart").json()
    assert api_client.get(f"/api/images/{image['id']}/file/?original=false").status_code == 200
    refused = api_client.get(f"/api/images/{image['id']}/?original=false")
    assert refused.status_code == 400 and _taken(refused.json()) == {"format"}


def test_a_yes_or_no_parameter_that_is_neither_is_refused_not_taken_as_no(api_client, settings):
    settings.RECOGNITION_ENGINE = {"BACKEND": "tests.engines.FakeEngine", "OPTIONS": {}}
    image = api_client.post("/api/images/", {"file": (FIXTURES / "obama.jpg").open("rb")}, format="multipart").json()
    url = f"/api/images/{image['id']}/file/"
    for no in ("false", "0", "No", " FALSE "):
        assert api_client.get(url, {"original": no}).status_code == 200, no
    refused = api_client.get(url, {"original": "maybe"})
    assert refused.status_code == 400
    assert refused.json() == {"original": ["'maybe' is neither true nor false (true, 1, yes; false, 0, no)."]}
    assert api_client.get(url, {"original": "TRUE"}).status_code == 403, "asked for, and refused without the right"


def test_a_misspelt_field_saves_nothing(api_client):
    response = api_client.post(
        "/api/people/", {"name": "Ann Lee", "consent_given": "2026-12-01T10:00:00Z"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "consent_given": ["Unknown field. This operation takes: name, external_id, notes, consent_given_at, watched."]
    }
    assert not Person.objects.exists()


def test_unknown_fields_are_reported_with_the_other_errors(api_client):
    response = api_client.post("/api/people/", {"nmae": "Ann Lee"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"nmae", "name"}


def test_a_multipart_upload_with_an_unknown_field_stores_nothing(api_client):
    response = api_client.post(
        "/api/images/", {"file": (FIXTURES / "obama.jpg").open("rb"), "colection": "staff"}, format="multipart"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["colection"]
    assert not Image.objects.exists()


def test_what_was_read_can_be_sent_back(api_client):
    person = PersonFactory(name="Ann Lee")
    body = api_client.get(f"/api/people/{person.pk}/").json()
    body["notes"] = "Night shift"
    response = api_client.put(f"/api/people/{person.pk}/", body, format="json")
    assert response.status_code == 200, response.json()
    person.refresh_from_db()
    assert person.notes == "Night shift"


def test_a_browser_forms_csrf_token_is_not_an_unknown_field(api_client):
    response = api_client.post("/api/people/", {"name": "Ann Lee", "csrfmiddlewaretoken": "x" * 64})
    assert response.status_code == 201


def test_a_caller_without_access_learns_nothing_of_the_parameters():
    response = APIClient().get("/api/images/?no_such_parameter=1")
    assert response.status_code == 401
    assert "no_such_parameter" not in response.content.decode()


def test_options_is_not_checked(api_client):
    assert api_client.options("/api/people/?anything=1").status_code == 200


def test_every_yes_or_no_filter_reads_yes_and_no_as_the_rest_of_the_api_does():
    """django-filter's own boolean filters drop what they do not read (``yes``, ``1``) and filter nothing."""
    import django_filters

    from recognition.api.filters import FlagFilter

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    apps = {"recognition", "videos", "integrations"}
    ours = [each for each in subclasses(django_filters.FilterSet) if each.__module__.split(".")[0] in apps]
    assert len(ours) >= 8, "the API's filter sets are imported"
    flags = {f"{filterset.__name__}.{name}": isinstance(each, FlagFilter)
             for filterset in ours for name, each in filterset.base_filters.items()
             if isinstance(each, django_filters.BooleanFilter)}  # fmt: skip
    assert flags and all(flags.values()), flags
