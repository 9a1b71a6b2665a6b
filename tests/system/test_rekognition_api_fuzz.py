"""Property-based run of the Rekognition-compatible API against botocore's own service model.

Every operation Facesite answers gets requests drawn from its input shape (members present or not, strings
inside and outside their limits and enums, numbers out of range, real and broken image bytes, collections and
jobs that exist and that do not), sent by a real boto3 client with its own checks turned off, so what is wrong
reaches the server; images and videos named in S3 are read from a real S3 server on loopback (there, broken,
empty, or missing). None may answer 5xx, and every answer that succeeds must fit the operation's output
shape. On the fake engine, so it stays fast.
"""

from __future__ import annotations

import re
import string
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from botocore.exceptions import ClientError
from botocore.model import Shape
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice import roles
from recognition.models import Collection
from rekognition_api.models import VideoJob
from rekognition_api.operations import OPERATIONS
from rekognition_api.protocol import service_model
from tests import images, servers
from tests.clips import video
from tests.factories import UserFactory
from tests.rekognition_api.clients import client_for
from videos.labels import labels_record
from videos.models import Video

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

COLLECTIONS = ["fuzz", "nowhere"]  # "fuzz" exists (made by the fixture), "nowhere" does not
PHOTOS = [images.jpeg((200, 150), seed=3), images.solid((0, 0, 0), (64, 48)), b"", b"\xff\xd8 not a JPEG", b"GIF89a"]
ARN = "aws:rekognition:eu-west-1:000000000000:"
ARNS = [f"{ARN}collection/fuzz", f"arn:{ARN}collection/nowhere", f"arn:{ARN}project/shelves/1700000000000"]


def values(shape: Shape, known: dict[str, list[str]], name: str = "", depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for one member: mostly what the shape allows, sometimes what it does not; for the members
    ``known`` names, often a value the server has (a collection, a face, a user, a job)."""
    kind = shape.type_name
    if kind == "structure":
        members = shape.members  # type: ignore[attr-defined]
        required = {key: values(member, known, key, depth + 1) for key, member in members.items()
                    if key in shape.required_members}  # fmt: skip
        optional = {} if depth > 3 else {key: values(member, known, key, depth + 1) for key, member in members.items()
                                         if key not in shape.required_members}  # fmt: skip
        return st.fixed_dictionaries(required, optional=optional)
    if kind == "list":
        return st.lists(values(shape.member, known, name, depth + 1), max_size=3)  # type: ignore[attr-defined]
    if kind == "map":
        return st.dictionaries(
            values(shape.key, known, "", depth + 1), values(shape.value, known, "", depth + 1), max_size=3
        )  # type: ignore[attr-defined]
    if kind == "string":
        enum = getattr(shape, "enum", None)
        choices = [st.sampled_from(enum)] if enum else []
        if known.get(name):
            choices += [st.sampled_from(known[name])] * 3
        pattern = shape.metadata.get("pattern")
        if pattern and _compiles(pattern):
            most = shape.metadata.get("max", 64)
            choices.append(st.from_regex(pattern, fullmatch=True).filter(lambda text: len(text) <= most))
        choices.append(st.text(string.ascii_letters + string.digits + "-_.:/ é\x00", max_size=40))
        return st.one_of(*choices)
    low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 4096)
    if kind in ("integer", "long"):
        return st.one_of(st.integers(min_value=low, max_value=high), st.integers(min_value=-3, max_value=5000))
    if kind in ("float", "double"):
        within = st.floats(min_value=low, max_value=high, allow_nan=False)
        return st.one_of(within, within, st.floats(min_value=-10.0, max_value=200.0, allow_nan=False))
    if kind == "boolean":
        return st.booleans()
    if kind == "blob":
        return st.sampled_from(PHOTOS)
    if kind == "timestamp":
        return st.just(datetime(2026, 12, 7, tzinfo=UTC))
    raise AssertionError(f"no values for {kind} ({shape.name})")


#: The objects in the S3 bucket the API may read (``photos``), and one name that is not there.
OBJECTS = {"face.jpg": PHOTOS[0], "black.png": PHOTOS[1], "empty.jpg": b"", "broken.jpg": PHOTOS[3],
           "clip.mp4": video([("obama.jpg", 1.0)])}  # fmt: skip


@pytest.fixture
def rekognition(live_server, checked, settings, monkeypatch):
    """An Administrator's client, unchecked, and a real S3 server on loopback holding ``OBJECTS``."""
    settings.FACESITE_REKOGNITION_API_S3_BUCKETS = ["photos"]
    with servers.s3_read_from(settings, monkeypatch, "photos") as s3:
        for key, body in OBJECTS.items():
            s3.put_object(Bucket="photos", Key=key, Body=body)
        yield client_for(live_server, UserFactory(role=roles.ADMINISTRATOR), checked=checked, validate=False)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("video")  # the videos started are not analysed


@pytest.fixture
def known(rekognition) -> dict[str, list[str]]:
    """A collection with a user of two faces, a face of no one, and a finished job of each kind, labelled and with
    a line of text of one word."""
    rekognition.create_collection(CollectionId="fuzz", Tags={"team": "security"})
    faces = [rekognition.index_faces(CollectionId="fuzz", Image={"Bytes": images.jpeg((200, 150), seed=seed)})
             ["FaceRecords"][0]["Face"]["FaceId"] for seed in (3, 4, 5)]  # fmt: skip
    rekognition.create_user(CollectionId="fuzz", UserId="ada")
    rekognition.associate_faces(CollectionId="fuzz", UserId="ada", FaceIds=faces[:2], UserMatchThreshold=0)
    user = get_user_model().objects.get(access_keys__isnull=False)
    jobs = []
    collection = Collection.objects.get(name="fuzz")
    for kind in VideoJob.Kind:
        video = Video.objects.create(collection=collection, status=Video.Status.DONE, duration=3.0, sample_rate=2,
                                     chunk_seconds=60, features=["faces", "labels", "moderation", "text"])  # fmt: skip
        details = {"parents": ["Animal"], "aliases": [], "categories": ["Animals and Pets"], "instances": []}
        labels_record(video, [[at / 2, "label", name, 90.0, details] for at in range(6) for name in ("Dog", "Pet")])
        where = {"box": [0.1, 0.1, 0.2, 0.1], "polygon": [[0.1, 0.1], [0.3, 0.1], [0.3, 0.2], [0.1, 0.2]]}
        exit_sign = [{"type": "LINE", "id": 0, "parent_id": None, **where},
                     {"type": "WORD", "id": 1, "parent_id": 0, **where}]  # fmt: skip
        labels_record(video, [[at / 2, "text", "EXIT", 90.0, found] for at in range(6) for found in exit_sign])
        filters = {"WordFilter": {"MinConfidence": 95.0}} if kind == VideoJob.Kind.TEXT_DETECTION else {}
        VideoJob.objects.create(video=video, user=user, kind=kind,
                                settings={"LabelExclusionFilters": ["Pet"], **filters})  # fmt: skip
        jobs.append(str(video.pk))
    return {"CollectionId": COLLECTIONS, "FaceId": [*faces, str(uuid.uuid4())], "UserId": ["ada", "bob"],
            "Bucket": ["photos", "not-listed"], "Name": [*OBJECTS, "missing.jpg"], "ResourceArn": ARNS,
            "JobId": [*jobs, str(uuid.uuid4())]}  # fmt: skip


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data())
def test_no_request_makes_the_server_fail_and_every_answer_fits_its_shape(rekognition, known, checked, operation, data):
    model = service_model().operation_model(operation)
    params = data.draw(values(model.input_shape, known), label="params")
    call = getattr(rekognition, _method(rekognition, operation))
    try:
        call(**params)
    except ClientError as error:
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        assert status < 500, (operation, params, error.response["Error"])
    problems = [problem for _, found in checked for problem in found]
    assert problems == [], (operation, params, problems)


#: Operations whose image (or video) may be in S3, and the other parameters each needs.
IN_S3 = {
    "DetectLabels": {}, "DetectFaces": {}, "DetectText": {}, "DetectModerationLabels": {},
    "IndexFaces": {"CollectionId": "fuzz"}, "SearchFacesByImage": {"CollectionId": "fuzz"},
    "SearchUsersByImage": {"CollectionId": "fuzz"}, "CompareFaces": {"SourceImage": {"Bytes": PHOTOS[0]}},
    "StartFaceSearch": {"CollectionId": "fuzz"}, "StartFaceDetection": {}, "StartLabelDetection": {},
    "StartContentModeration": {}, "StartTextDetection": {},
}  # fmt: skip
S3_OBJECTS = st.fixed_dictionaries(
    {"Bucket": st.sampled_from(["photos", "photos", "not-listed", "", "Photos"]),
     "Name": st.sampled_from([*OBJECTS, "missing.jpg", "", "a/../face.jpg", "é/x.jpg", "x" * 1025])},
    optional={"Version": st.sampled_from(["", "null", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"])},
)  # fmt: skip


@pytest.mark.parametrize("operation", sorted(IN_S3))
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data())
def test_no_object_in_s3_makes_the_server_fail(rekognition, known, checked, operation, data):
    """What the drawn requests above rarely reach: an image or a video read from S3, there, empty, broken, in
    another bucket, missing, or at a version S3 does not have; with the other parameters right."""
    found = data.draw(S3_OBJECTS, label="S3Object")
    key = "Video" if operation.startswith("Start") else "TargetImage" if operation == "CompareFaces" else "Image"
    call = getattr(rekognition, _method(rekognition, operation))
    try:
        call(**IN_S3[operation], **{key: {"S3Object": found}})
    except ClientError as error:
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] < 500, (operation, found, error.response)
    problems = [problem for _, found in checked for problem in found]
    assert problems == [], (operation, found, problems)


def _method(client: Any, operation: str) -> str:
    return next(name for name, api in client.meta.method_to_api_mapping.items() if api == operation)


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False  # a Java-only construct, as \\p{L}
    return True
