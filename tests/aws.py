"""Amazon Rekognition for tests: the real engine and the real boto3 client, answered by botocore's Stubber.

The Stubber checks every request against botocore's Rekognition service model (a wrong parameter name
or shape fails) and every scripted answer against the model's response shapes, so these answers are
what boto3 would parse from AWS. ``Rekognition`` scripts the calls the engine makes for each thing a
test does (enrol, analyse, search...), with the ids and scores AWS would give.
"""

from __future__ import annotations

import uuid
from typing import Any

from botocore.stub import ANY, Stubber

from recognition.engines.rekognition import RekognitionEngine

REGION = "eu-west-1"
PREFIX = "test-"
FACE_BOX = {"Left": 0.3, "Top": 0.2, "Width": 0.4, "Height": 0.5}


class StubbedRekognitionEngine(RekognitionEngine):
    """The engine with one shared client (the Stubber's), whichever thread calls it."""

    shared_client: Any = None

    @property
    def client(self) -> Any:
        return self.shared_client


def engine_settings(**options: Any) -> dict[str, Any]:
    return {
        "BACKEND": "tests.aws.StubbedRekognitionEngine",
        "OPTIONS": {"region": REGION, "collection_prefix": PREFIX, **options},
    }


def face_detail(box: dict[str, float] | None = None, *, confidence: float = 99.9, attributes: bool = False) -> dict:
    box = box or FACE_BOX
    left, top, width, height = box["Left"], box["Top"], box["Width"], box["Height"]
    detail: dict[str, Any] = {
        "BoundingBox": box,
        "Confidence": confidence,
        "Landmarks": [
            {"Type": "eyeLeft", "X": left + 0.3 * width, "Y": top + 0.35 * height},
            {"Type": "eyeRight", "X": left + 0.7 * width, "Y": top + 0.35 * height},
            {"Type": "nose", "X": left + 0.5 * width, "Y": top + 0.55 * height},
            {"Type": "mouthLeft", "X": left + 0.35 * width, "Y": top + 0.75 * height},
            {"Type": "mouthRight", "X": left + 0.65 * width, "Y": top + 0.75 * height},
        ],
        "Pose": {"Roll": 1.5, "Yaw": -3.0, "Pitch": 2.0},
        "Quality": {"Brightness": 80.0, "Sharpness": 90.0},
    }
    if attributes:
        detail.update(
            AgeRange={"Low": 45, "High": 55},
            Smile={"Value": True, "Confidence": 95.0},
            Eyeglasses={"Value": False, "Confidence": 98.0},
            Sunglasses={"Value": False, "Confidence": 99.0},
            Gender={"Value": "Male", "Confidence": 99.5},
            Beard={"Value": False, "Confidence": 90.0},
            Mustache={"Value": False, "Confidence": 95.0},
            EyesOpen={"Value": True, "Confidence": 97.0},
            MouthOpen={"Value": True, "Confidence": 80.0},
            Emotions=[{"Type": "HAPPY", "Confidence": 96.0}, {"Type": "CALM", "Confidence": 3.0}],
            FaceOccluded={"Value": False, "Confidence": 99.0},
            EyeDirection={"Yaw": 2.0, "Pitch": -1.0, "Confidence": 99.0},
        )
    return detail


class Rekognition:
    """Scripts the answers of one test's Rekognition calls, in the order the engine makes them."""

    def __init__(self, client: Any):
        self.client = client
        self.stubber = Stubber(client)
        self.collections_created: set[str] = set()

    # One call each -------------------------------------------------------------------------------

    def answer(self, operation: str, response: dict, expected: dict | None = None) -> None:
        self.stubber.add_response(operation, response, expected)

    def fail(self, operation: str, code: str, message: str = "", *, status: int = 400) -> None:
        self.stubber.add_client_error(operation, service_error_code=code, service_message=message,
                                      http_status_code=status)  # fmt: skip

    def create_collection(self, name: str = "default") -> None:
        self.answer(
            "create_collection",
            {"StatusCode": 200, "CollectionArn": f"aws:rekognition:{REGION}:1:collection/{PREFIX}{name}",
             "FaceModelVersion": "7.0"},
            {"CollectionId": PREFIX + name},
        )  # fmt: skip
        self.collections_created.add(name)

    def detect_faces(self, faces: list[dict] | None = None, *, attributes: bool = False) -> None:
        faces = [face_detail(attributes=attributes)] if faces is None else faces
        self.answer(
            "detect_faces", {"FaceDetails": faces}, {"Image": ANY, "Attributes": ["ALL" if attributes else "DEFAULT"]}
        )

    def index_faces(self, face_id: str, *, collection: str = "default") -> None:
        self.answer(
            "index_faces",
            {
                "FaceRecords": [
                    {
                        "Face": {
                            "FaceId": face_id,
                            "BoundingBox": FACE_BOX,
                            "ImageId": str(uuid.uuid4()),
                            "Confidence": 99.9,
                        },
                        "FaceDetail": face_detail(),
                    }
                ],
                "FaceModelVersion": "7.0",
                "UnindexedFaces": [],
            },
            {
                "CollectionId": PREFIX + collection,
                "Image": ANY,
                "ExternalImageId": ANY,
                "DetectionAttributes": ["DEFAULT"],
                "MaxFaces": 1,
                "QualityFilter": "AUTO",
            },
        )

    def associate(self, person: Any, face_id: str, *, collection: str = "default", user_exists: bool = False) -> None:
        expected = {"CollectionId": PREFIX + collection, "UserId": str(person.pk)}
        if user_exists:
            self.fail("create_user", "ConflictException", "User already exists")
        else:
            self.answer("create_user", {}, expected)
        self.answer(
            "associate_faces",
            {"AssociatedFaces": [{"FaceId": face_id}], "UnsuccessfulFaceAssociations": [], "UserStatus": "ACTIVE"},
            {**expected, "FaceIds": [face_id], "UserMatchThreshold": 0.0},
        )

    def search_users(self, matches: list[tuple[Any, float]], *, threshold: float, max_users: int,
                     collection: str = "default") -> None:  # fmt: skip
        self.answer(
            "search_users_by_image",
            {
                "UserMatches": [
                    {"Similarity": similarity, "User": {"UserId": str(person.pk), "UserStatus": "ACTIVE"}}
                    for person, similarity in matches
                ],
                "FaceModelVersion": "7.0",
                "SearchedFace": {"FaceDetail": face_detail()},
            },
            {
                "CollectionId": PREFIX + collection,
                "Image": ANY,
                "UserMatchThreshold": threshold,
                "MaxUsers": max_users,
                "QualityFilter": "AUTO",
            },
        )

    def detect_labels(self, names: tuple[str, ...] = ("Person", "Face")) -> None:
        labels = [
            {"Name": name, "Confidence": 99.0 - i, "Parents": [], "Aliases": [], "Categories": [{"Name": "People"}],
             "Instances": []}
            for i, name in enumerate(names)
        ]  # fmt: skip
        self.answer(
            "detect_labels",
            {"Labels": labels, "LabelModelVersion": "3.0"},
            {"Image": ANY, "Features": ["GENERAL_LABELS"], "MaxLabels": 50, "MinConfidence": ANY},
        )

    def detect_moderation_labels(self, labels: list[dict] | None = None) -> None:
        self.answer(
            "detect_moderation_labels",
            {"ModerationLabels": labels or [], "ModerationModelVersion": "7.0"},
            {"Image": ANY, "MinConfidence": ANY},
        )

    # What the application does, as the calls it makes ----------------------------------------------

    def enrol(self, person: Any, *, collection: str = "default", user_exists: bool = False) -> str:
        """Enrolment: the collection on first use, the face found, indexed and given to the person's user."""
        face_id = str(uuid.uuid4())
        if collection not in self.collections_created:
            self.create_collection(collection)
        self.detect_faces()
        self.index_faces(face_id, collection=collection)
        self.associate(person, face_id, collection=collection, user_exists=user_exists)
        return face_id

    def analyse(self, *, faces: int = 1, matches: list[list[tuple[Any, float]]] | None = None) -> None:
        """Analysis with the default features, then a user search per face when people are enrolled."""
        self.detect_labels()
        self.detect_faces([face_detail(attributes=True)] * faces, attributes=True)
        self.detect_moderation_labels()
        for found in matches or []:
            self.search_users(found, threshold=60.0, max_users=1)
