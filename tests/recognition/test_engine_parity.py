"""The same product on either engine: enrol, search, verify, compare and the pipeline, each run on the
local engine (real inference on real photos) and on Rekognition (the real engine and boto3 client, AWS's
answers scripted through botocore's Stubber), giving the same outcomes in the same response shapes."""

from __future__ import annotations

import pytest
from botocore.stub import ANY
from django.core.files.uploadedfile import SimpleUploadedFile

from integrations.models import Delivery
from recognition.models import Image
from tests import aws
from tests.factories import PersonFactory
from tests.helpers import status_of, wait_for
from tests.images import FIXTURES

LOCAL = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}


def upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (FIXTURES / name).read_bytes())


class Script:
    """What AWS answers for each step, scripted on Rekognition; nothing on the local engine, whose real
    inference on the photos gives the answers."""

    def __init__(self, rekognition: aws.Rekognition | None):
        self.aws = rekognition

    def enrol(self, person) -> None:
        if self.aws:
            self.aws.enrol(person)

    def search(self, found: list, *, threshold: float = 80.0, max_users: int = 5) -> None:
        if self.aws:
            self.aws.detect_faces([aws.face_detail()] if found is not None else [])
            if found is not None:
                self.aws.search_users(found, threshold=threshold, max_users=max_users)

    def verify(self, person, similarity: float) -> None:
        if self.aws:
            self.aws.detect_faces()
            self.aws.search_users([(person, similarity)], threshold=0.0, max_users=20)

    def compare(self, similarity: float) -> None:
        if self.aws:
            self.aws.answer(
                "compare_faces",
                {
                    "SourceImageFace": {"BoundingBox": aws.FACE_BOX, "Confidence": 99.9},
                    "FaceMatches": [{"Similarity": similarity, "Face": aws.face_detail()}],
                    "UnmatchedFaces": [],
                },
                {"SourceImage": ANY, "TargetImage": ANY, "SimilarityThreshold": 0.0, "QualityFilter": "NONE"},
            )

    def analyse(self, matches: list) -> None:
        if self.aws:
            self.aws.analyse(matches=matches)


@pytest.fixture(params=["local", "rekognition"])
def engine(request, settings):
    settings.FACESITE_ENROL_MIN_FACE_PIXELS = 60
    if request.param == "local":
        settings.RECOGNITION_ENGINE = LOCAL
        return Script(None)
    return Script(request.getfixturevalue("rekognition"))


def shape(value):
    """The structure of a JSON answer: its keys all the way down, lists by their first item."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__ if value is not None else None


PERSON = {"id": "str", "name": "str", "external_id": "str"}
BOX = {"left": "float", "top": "float", "width": "float", "height": "float"}


def search_shape(face_id: str | None) -> dict:
    """A search's answer; the face that matched is named where the engine says (not Rekognition)."""
    match = {"person": PERSON, "similarity": "float", "face_id": face_id}
    return {"faces": [{"bounding_box": BOX, "confidence": "float", "matches": [match]}], "threshold": "float"}


VERIFY_KEYS = {"verification_id", "outcome", "match", "similarity", "threshold", "person", "bounding_box"}
COMPARED_FACE = {"bounding_box": BOX, "confidence": "float", "similarity": "float", "match": "bool"}
COMPARE = {"source_face": {"bounding_box": BOX, "confidence": "float"}, "faces": [COMPARED_FACE], "threshold": "float"}


@pytest.mark.django_db
def test_enrol_search_verify_and_compare(engine, api_client):
    obama = PersonFactory(name="Barack Obama", external_id="B-44")
    engine.enrol(obama)
    enrolled = api_client.post(f"/api/people/{obama.pk}/faces/", {"file": upload("obama.jpg")})
    assert enrolled.status_code == 201, enrolled.content
    enrolled_face = enrolled.json()
    assert enrolled_face["is_reference"] and enrolled_face["person"]["id"] == str(obama.pk)

    engine.search([(obama, 98.2)])
    found = api_client.post("/api/search/", {"file": upload("obama2.jpg")})
    assert found.status_code == 200, found.content
    [face] = found.json()["faces"]
    assert face["matches"][0]["person"]["external_id"] == "B-44" and face["matches"][0]["similarity"] > 80
    assert shape(found.json()) == search_shape(None if engine.aws else "str")

    engine.search([])
    stranger = api_client.post("/api/search/", {"file": upload("biden.jpg")}).json()
    assert stranger["faces"][0]["matches"] == []

    engine.verify(obama, 97.0)
    match = api_client.post("/api/verify/", {"external_id": "B-44", "file": upload("obama3.jpg")}).json()
    assert (match["outcome"], match["match"]) == ("match", True) and match["similarity"] > 80
    assert set(match) >= VERIFY_KEYS and shape(match["person"]) == PERSON

    engine.verify(obama, 12.0)
    impostor = api_client.post("/api/verify/", {"external_id": "B-44", "file": upload("biden.jpg")}).json()
    assert (impostor["outcome"], impostor["match"]) == ("no_match", False) and impostor["similarity"] < 80
    assert set(impostor) == set(match)

    engine.compare(96.0)
    compared = api_client.post("/api/compare/", {"source": upload("obama.jpg"), "target": upload("obama2.jpg")})
    assert compared.status_code == 200, compared.content
    assert compared.json()["faces"][0]["match"] and compared.json()["faces"][0]["similarity"] > 80
    assert shape(compared.json()) == COMPARE


@pytest.mark.django_db(transaction=True)
def test_pipeline_from_upload_to_delivery(engine, celery_worker, api_client, endpoint, receiver):
    obama = PersonFactory(name="Barack Obama", external_id="B-44")
    engine.enrol(obama)
    assert api_client.post(f"/api/people/{obama.pk}/faces/", {"file": upload("obama.jpg")}).status_code == 201

    engine.analyse(matches=[[(obama, 99.1)]])
    response = api_client.post("/api/images/", {"file": upload("obama2.jpg")})
    assert response.status_code == 202
    image_id = response.json()["id"]

    wait_for(lambda: status_of(image_id) == Image.Status.DONE, timeout=60)
    detail = api_client.get(f"/api/images/{image_id}/").json()
    assert "Person" in {label["name"] for label in detail["labels"]}
    [face] = detail["faces"]
    assert face["person"]["name"] == "Barack Obama" and face["similarity"] > 80
    assert set(face["bounding_box"]) == set(BOX) and face["attributes"]["gender"]["value"] == "Male"
    delivery = wait_for(lambda: Delivery.objects.filter(image_id=image_id, status="delivered").first())
    assert b"Barack Obama" in receiver.received[0].body
    assert delivery.event == "image.analysed"
