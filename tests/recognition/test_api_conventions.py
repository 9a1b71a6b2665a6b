"""One consistent API: snake_case keys, a root listing every endpoint, page sizes, clean schema names,
and re-uploads that ask for more analyses get them."""

from __future__ import annotations

import base64
import io
import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from recognition.models import Image
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from tests import images
from tests.factories import PersonFactory
from tests.images import FIXTURES

pytestmark = pytest.mark.django_db
LOCAL = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def keys_of(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", key
            yield from keys_of(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from keys_of(item, f"{path}[]")


def test_every_key_of_an_image_is_snake_case(api_client, settings):
    settings.RECOGNITION_ENGINE = LOCAL
    image = image_ingest(
        data=(FIXTURES / "scenetext01.jpg").read_bytes(), features=["labels", "faces", "text", "properties"]
    )
    image_analyse(image_id=image.pk)
    body = api_client.get(f"/api/images/{image.pk}/").json()
    assert body["text_detections"] and body["properties"]
    offending = [path for path, key in keys_of(body) if not re.fullmatch(r"[a-z0-9_]+", key)]
    assert offending == []
    assert set(body["text_detections"][0]["geometry"]) == {"bounding_box", "polygon"}
    assert set(body["properties"]["quality"]) == {"brightness", "sharpness", "contrast"}


def test_face_results_are_snake_case_too(api_client, settings):
    settings.RECOGNITION_ENGINE = LOCAL
    image = image_analyse(image_id=image_ingest(data=(FIXTURES / "obama.jpg").read_bytes()).pk)
    [face] = api_client.get(f"/api/images/{image.pk}/").json()["faces"]
    assert {"low", "high"} == set(face["attributes"]["age_range"])
    assert face["attributes"]["gender"]["value"] == "Male"
    assert set(face["landmarks"][0]) == {"type", "x", "y"} and set(face["pose"]) == {"roll", "yaw", "pitch"}
    [face_label] = [label for label in api_client.get(f"/api/images/{image.pk}/").json()["labels"]
                    if label["name"] == "Face"]  # fmt: skip
    assert set(face_label["instances"][0]) == {"bounding_box", "confidence"}


def test_labels_of_people_do_not_depend_on_the_faces_being_asked_for(settings):
    settings.RECOGNITION_ENGINE = LOCAL
    data = (FIXTURES / "obama.jpg").read_bytes()
    image = image_analyse(image_id=image_ingest(data=data, features=["labels", "text"]).pk)
    assert image.faces.count() == 0, "faces not asked for are not kept"
    labels = {(label.name, label.confidence, len(label.instances)) for label in image.labels.all()}
    assert {("Person", 1), ("Face", 1)} <= {(name, count) for name, _, count in labels}, "as Rekognition labels him"

    again = image_analyse(image_id=image_ingest(data=data, features=["labels", "faces"]).pk)
    assert again.faces.count() == 1
    assert labels == {(label.name, label.confidence, len(label.instances)) for label in again.labels.all()}


def test_compare_and_verify_answer_only_what_they_measured(api_client, settings):
    settings.RECOGNITION_ENGINE = LOCAL
    settings.FACESITE_ENROL_MIN_FACE_PIXELS = 60
    photo = (FIXTURES / "obama.jpg").read_bytes()
    compared = api_client.post(
        "/api/compare/", {"source": b64(photo), "target": b64((FIXTURES / "obama2.jpg").read_bytes())}, format="json"
    ).json()
    assert set(compared["source_face"]) == {"bounding_box", "confidence"}

    from recognition.services.people import person_enroll

    person_enroll(person=PersonFactory(external_id="B-1"), data=photo)
    verified = api_client.post(
        "/api/verify/", {"external_id": "B-1", "image_base64": b64((FIXTURES / "obama3.jpg").read_bytes())},
        format="json",
    ).json()  # fmt: skip
    assert verified["outcome"] == "match" and 0 < verified["bounding_box"]["width"] < 1
    unknown = api_client.post("/api/verify/", {"external_id": "NOPE", "image_base64": b64(photo)}, format="json")
    assert unknown.json()["bounding_box"] is None


def test_the_root_lists_every_endpoint(api_client):
    listed = api_client.get("/api/").json()
    paths = api_client.get("/api/schema/", {"format": "json"}).json()["paths"]
    in_schema = {path.split("/")[2] for path in paths if path.count("/") > 2 and path.startswith("/api/")}
    assert in_schema <= {urlsplit(url).path.strip("/").split("/")[-1] for url in listed.values()}, "all the schema has"
    assert {"schema", "docs", "rekognition"} <= set(listed)
    assert listed["verify"].endswith("/api/verify/")


def test_page_size_is_honoured_up_to_a_maximum(api_client):
    for seed in range(3):
        image_ingest(data=images.jpeg(seed=seed))
    page = api_client.get("/api/images/?page_size=2").json()
    assert len(page["results"]) == 2 and page["count"] == 3 and "page_size=2" in page["next"]
    assert len(api_client.get("/api/images/?page_size=100000").json()["results"]) == 3  # capped, not refused


def test_schema_names_and_summaries_are_clean(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    names = set(schema["components"]["schemas"])
    assert not [n for n in names if "RequestRequest" in n or n.endswith("ListList") or n == "TypeEnum"]
    assert {"VerifyRequest", "Verification", "SearchRequest", "SearchResult", "Comparison"} <= names
    missing = [(path, method) for path, ops in schema["paths"].items() for method, op in ops.items()
               if not op.get("summary")]  # fmt: skip
    assert missing == []
    base64_field = schema["components"]["schemas"]["VerifyRequest"]["properties"]["image_base64"]
    assert base64_field["type"] == "string" and base64_field["format"] == "byte"
    bad_request = schema["paths"]["/api/verify/"]["post"]["responses"]["400"]["content"]["application/json"]
    assert "examples" in bad_request


def test_the_schema_is_valid_and_made_without_a_warning():
    """A warning means part of the API went undescribed: a sign-in scheme, a field's type."""
    out, err = io.StringIO(), io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=err)
    schema = out.getvalue()
    assert "cookieAuth" in schema and "tokenAuth" in schema, "both ways of signing in are described"


def test_uploading_the_same_bytes_for_more_analyses_runs_them(api_client):
    data = images.jpeg((120, 90), seed=7)
    first = api_client.post("/api/images/", {"image_base64": b64(data), "features": ["faces"]}, format="json")
    assert first.status_code == 202
    image_analyse(image_id=first.json()["id"])

    same = api_client.post("/api/images/", {"image_base64": b64(data), "features": ["faces"]}, format="json")
    assert same.status_code == 200 and same.json()["status"] == "done"  # nothing new asked: nothing done

    more = api_client.post("/api/images/", {"image_base64": b64(data), "features": ["faces", "labels"]}, format="json")
    assert more.status_code == 202 and more.json()["id"] == first.json()["id"]
    assert more.json()["status"] == "pending" and more.json()["features"] == ["labels", "faces"]
    image = image_analyse(image_id=first.json()["id"])
    assert image.labels.exists() and image.faces.count() == 1

    Image.objects.filter(pk=image.pk).update(status=Image.Status.PROCESSING)
    busy = api_client.post("/api/images/", {"image_base64": b64(data), "features": ["text"]}, format="json")
    assert busy.status_code == 409 and busy.json()["code"] == "analysis_in_progress"


def test_reference_faces_are_a_plain_list_as_the_schema_says(api_client):
    operation = SchemaGenerator().get_schema(public=True)["paths"]["/api/people/{id}/faces/"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert [param["name"] for param in operation["parameters"]] == ["id"]
    person = PersonFactory()
    assert api_client.get(f"/api/people/{person.pk}/faces/").json() == []


def test_no_operation_or_schema_is_described_by_a_base_class(api_client):
    """drf-spectacular describes a view or serializer without a docstring of its own by its base's, which
    tells an integrator about Facesite's code (a mixin's purpose) instead of the operation or the data."""
    import importlib
    import inspect
    import pkgutil

    import recognition.api

    modules = [
        importlib.import_module(f"recognition.api.{m.name}") for m in pkgutil.iter_modules(recognition.api.__path__)
    ]
    modules += [importlib.import_module(name) for name in ("integrations.api", "videos.api")]
    bases = {
        inspect.cleandoc(cls.__doc__).split("\n")[0]
        for module in modules
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and cls.__doc__ and cls.__subclasses__()
    }
    assert bases, "the API's base classes were found"
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    described = {f"{method.upper()} {path}": op.get("description", "") for path, ops in schema["paths"].items()
                 for method, op in ops.items()}  # fmt: skip
    described |= {name: component.get("description", "") for name, component in schema["components"]["schemas"].items()}
    borrowed = {name: text[:60] for name, text in described.items() if any(text.startswith(base) for base in bases)}
    assert borrowed == {}


SELF_EXPLAINED = {"id", "name", "created_at", "updated_at", "count", "next", "previous", "results"}


def test_every_parameter_and_every_field_is_described():
    """What an integrator cannot guess: what a filter takes, the scale of a number (0–100, a ratio of the
    image, seconds), when a field is empty or null."""
    schema = SchemaGenerator().get_schema(public=True)
    parameters = [f"{method.upper()} {path} {param['name']}" for path, ops in schema["paths"].items()
                  for method, op in ops.items() for param in op.get("parameters", [])
                  if not param.get("description")]  # fmt: skip
    assert parameters == []
    fields = [f"{name}.{field}" for name, component in schema["components"]["schemas"].items()
              for field, spec in component.get("properties", {}).items()
              if not (spec.get("description") or "$ref" in spec or "allOf" in spec)
              and field not in SELF_EXPLAINED]  # fmt: skip
    assert fields == [], "every field but those named SELF_EXPLAINED (a referred schema describes itself)"


@pytest.mark.django_db
def test_lists_filter_by_the_names_their_answers_show(api_client, receiver, settings):
    """A video shows its collection's name and a delivery its endpoint's: the filters take those names."""
    from integrations.models import Endpoint
    from recognition.models import Collection
    from videos.models import Video

    settings.RECOGNITION_ENGINE = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}
    lobby = Collection.objects.create(name="lobby")
    for collection in (lobby, Collection.get_default()):
        Video.objects.create(collection=collection, sample_rate=2.0, chunk_seconds=60.0)
    listed = api_client.get("/api/videos/", {"collection": "lobby"}).json()["results"]
    assert [video["collection"] for video in listed] == ["lobby"]

    for name in ("ERP", "Door"):
        Endpoint.objects.create(name=name, url=receiver.url, secret="k", events=["image.analysed"])
    image_analyse(image_id=image_ingest(data=images.jpeg(seed=5)).pk)
    listed = api_client.get("/api/deliveries/", {"endpoint": "Door"}).json()["results"]
    assert [delivery["endpoint"] for delivery in listed] == ["Door"]
