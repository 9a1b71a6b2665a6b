"""Existing boto3 code, pointed at Facesite: real clients over real HTTP, real inference on the photos."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from backoffice import roles
from recognition.admin.activity import sentences
from recognition.engines.base import BoundingBox
from recognition.exceptions import EngineFailed
from recognition.models import AuditEvent, Collection, Face, Image, Person
from rekognition_api.models import AccessKey, CollectionUser
from rekognition_api.operations.regions import in_regions
from rekognition_api.views import as_aws_error
from tests import images
from tests.factories import UserFactory
from tests.images import FIXTURES
from tests.rekognition_api.clients import REGION, client_for
from videos.models import Camera

pytestmark = pytest.mark.django_db(transaction=True)
LOCAL = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}


def photo(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def local_engine(settings):
    settings.RECOGNITION_ENGINE = LOCAL
    settings.FACESITE_ENROL_MIN_FACE_PIXELS = 60


@pytest.fixture
def admin_client(live_server, local_engine, checked):
    return client_for(live_server, UserFactory(role=roles.ADMINISTRATOR, username="admin-1"), checked=checked)


def test_a_boto3_program_enrols_searches_and_compares(admin_client, checked):
    rekognition = admin_client
    created = rekognition.create_collection(CollectionId="staff")
    assert created["StatusCode"] == 200 and created["CollectionArn"].endswith("collection/staff")
    with pytest.raises(ClientError) as again:
        rekognition.create_collection(CollectionId="staff")
    assert again.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"

    faces = {}
    for name, external in (("obama.jpg", "obama-1"), ("biden.jpg", "biden-1")):
        indexed = rekognition.index_faces(
            CollectionId="staff", Image={"Bytes": photo(name)}, ExternalImageId=external, MaxFaces=1,
            DetectionAttributes=["ALL"],
        )  # fmt: skip
        [record] = indexed["FaceRecords"]
        assert record["Face"]["ExternalImageId"] == external and record["FaceDetail"]["Gender"]["Value"] == "Male"
        faces[external] = record["Face"]["FaceId"]
    for user, face_id in (("obama", faces["obama-1"]), ("biden", faces["biden-1"])):
        rekognition.create_user(CollectionId="staff", UserId=user)
        associated = rekognition.associate_faces(CollectionId="staff", UserId=user, FaceIds=[face_id])
        assert associated["AssociatedFaces"] == [{"FaceId": face_id}] and not associated["UnsuccessfulFaceAssociations"]

    found = rekognition.search_faces_by_image(CollectionId="staff", Image={"Bytes": photo("obama2.jpg")})
    assert [m["Face"]["ExternalImageId"] for m in found["FaceMatches"]] == ["obama-1"]
    assert found["FaceMatches"][0]["Similarity"] > 80 and found["FaceMatches"][0]["Face"]["UserId"] == "obama"

    users = rekognition.search_users_by_image(CollectionId="staff", Image={"Bytes": photo("obama3.jpg")})
    assert [m["User"]["UserId"] for m in users["UserMatches"]] == ["obama"]
    by_face = rekognition.search_faces(CollectionId="staff", FaceId=faces["biden-1"], FaceMatchThreshold=80)
    assert by_face["SearchedFaceId"] == faces["biden-1"] and by_face["FaceMatches"] == []  # not Obama, not itself
    by_user = rekognition.search_users(CollectionId="staff", FaceId=faces["obama-1"], UserMatchThreshold=80)
    assert [m["User"]["UserId"] for m in by_user["UserMatches"]] == ["obama"]

    same = rekognition.compare_faces(
        SourceImage={"Bytes": photo("obama.jpg")}, TargetImage={"Bytes": photo("obama2.jpg")}
    )
    assert len(same["FaceMatches"]) == 1 and same["FaceMatches"][0]["Similarity"] > 80
    other = rekognition.compare_faces(
        SourceImage={"Bytes": photo("obama.jpg")}, TargetImage={"Bytes": photo("biden.jpg")}
    )
    assert other["FaceMatches"] == [] and len(other["UnmatchedFaces"]) == 1

    # Indexed photos are images of the collection in the back office, and everything is audited.
    assert Image.objects.filter(source=Image.Source.REKOGNITION_API, collection__name="staff").count() == 2
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"collection.create", "faces.index", "person.create", "faces.associate", "faces.compare"} <= actions

    assert all(not errors for _, errors in checked), [c for c in checked if c[1]]
    assert {name for name, _ in checked} >= {"IndexFaces", "SearchFacesByImage", "SearchUsersByImage", "CompareFaces"}


def test_every_audit_row_names_the_access_key_used_as_well_as_its_holder(live_server, local_engine):
    creator = UserFactory(role=roles.ADMINISTRATOR, username="admin-a")
    holder = UserFactory(role=roles.ADMINISTRATOR, username="admin-b")
    client_for(live_server, holder, created_by=creator).create_collection(CollectionId="lobby")
    key = AccessKey.objects.get(user=holder)

    created = AuditEvent.objects.get(action=AuditEvent.Action.COLLECTION_CREATE)
    assert created.actor == holder and created.details["credential"] == f"access key {key.access_key_id}"
    issued = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_KEY_CREATE)
    assert issued.actor == creator and "credential" not in issued.details, "who made the key holder's key"
    assert sentences([created])[created.pk].endswith(f"(with access key {key.access_key_id})")


def test_image_analysis_calls(admin_client, checked):
    rekognition = admin_client
    labels = rekognition.detect_labels(Image={"Bytes": photo("dog.jpg")}, MaxLabels=5, MinConfidence=20,
                                       Features=["GENERAL_LABELS", "IMAGE_PROPERTIES"])  # fmt: skip
    assert labels["Labels"] and len(labels["Labels"]) <= 5
    assert any("dog" in label["Name"].lower() or "Dog" in [p["Name"] for p in label["Parents"]]
               for label in labels["Labels"]), labels["Labels"]  # fmt: skip
    assert set(labels["ImageProperties"]["Quality"]) == {"Brightness", "Sharpness", "Contrast"}
    people = {
        label["Name"]: label for label in rekognition.detect_labels(Image={"Bytes": photo("obama.jpg")})["Labels"]
    }
    assert people["Person"]["Confidence"] > 90, "a person, as DetectLabels on AWS says"
    [box] = people["Person"]["Instances"]
    assert 0 < box["BoundingBox"]["Width"] < 1, "one person, counted as AWS code counts people"
    assert people["Face"]["Instances"] == [box] and {"Name": "Person"} in people["Face"]["Parents"]

    [face] = rekognition.detect_faces(Image={"Bytes": photo("obama.jpg")}, Attributes=["ALL"])["FaceDetails"]
    assert face["Gender"]["Value"] == "Male" and 0 < face["BoundingBox"]["Width"] < 1
    [plain] = rekognition.detect_faces(Image={"Bytes": photo("obama.jpg")})["FaceDetails"]
    assert "Gender" not in plain and "Landmarks" in plain
    [some] = rekognition.detect_faces(Image={"Bytes": photo("obama.jpg")}, Attributes=["AGE_RANGE", "SMILE"])[
        "FaceDetails"
    ]
    assert {"AgeRange", "Smile", "Landmarks"} <= set(some) and not {"Gender", "Emotions"} & set(some), "those asked for"

    text = rekognition.detect_text(Image={"Bytes": photo("scenetext01.jpg")})["TextDetections"]
    assert {t["Type"] for t in text} == {"LINE", "WORD"}
    words = [t for t in text if t["Type"] == "WORD"]
    assert all(t["ParentId"] in {line["Id"] for line in text if line["Type"] == "LINE"} for t in words)
    chosen = words[0]["Geometry"]["BoundingBox"]
    region = {"BoundingBox": {k: chosen[k] for k in ("Left", "Top", "Width", "Height")}}
    within = rekognition.detect_text(Image={"Bytes": photo("scenetext01.jpg")},
                                     Filters={"RegionsOfInterest": [region]})["TextDetections"]  # fmt: skip
    assert words[0]["DetectedText"] in [t["DetectedText"] for t in within] and len(within) < len(text)
    assert all(in_regions(BoundingBox(**{k.lower(): v for k, v in t["Geometry"]["BoundingBox"].items()}), [region])
               for t in within), "only what is more than half in the region"  # fmt: skip

    moderation = rekognition.detect_moderation_labels(Image={"Bytes": photo("kite.jpg")})
    assert moderation["ModerationLabels"] == []

    assert all(not errors for _, errors in checked), [c for c in checked if c[1]]


def test_listing_paginates_and_faces_of_users_are_deleted_only_once_disassociated(admin_client):
    rekognition = admin_client
    rekognition.create_collection(CollectionId="door")
    ids = [
        rekognition.index_faces(CollectionId="door", Image={"Bytes": photo(name)})["FaceRecords"][0]["Face"]["FaceId"]
        for name in ("obama.jpg", "obama2.jpg", "biden.jpg")
    ]
    rekognition.create_user(CollectionId="door", UserId="u-obama")
    rekognition.associate_faces(CollectionId="door", UserId="u-obama", FaceIds=ids[:2], UserMatchThreshold=70)

    seen, token = [], None
    while True:
        page = rekognition.list_faces(CollectionId="door", MaxResults=2, **({"NextToken": token} if token else {}))
        assert len(page["Faces"]) <= 2
        seen += [f["FaceId"] for f in page["Faces"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    paginator = rekognition.get_paginator("list_faces")
    assert sum(len(p["Faces"]) for p in paginator.paginate(CollectionId="door", PaginationConfig={"PageSize": 1})) == 3
    theirs = rekognition.list_faces(CollectionId="door", UserId="u-obama")["Faces"]
    assert sorted(f["FaceId"] for f in theirs) == sorted(ids[:2])
    assert rekognition.describe_collection(CollectionId="door")["FaceCount"] == 3
    assert rekognition.list_users(CollectionId="door")["Users"] == [{"UserId": "u-obama", "UserStatus": "ACTIVE"}]

    refused = rekognition.delete_faces(CollectionId="door", FaceIds=[ids[0], "00000000-0000-0000-0000-000000000000"])
    assert refused["UnsuccessfulFaceDeletions"] == [
        {"FaceId": ids[0], "UserId": "u-obama", "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]},
        {"FaceId": "00000000-0000-0000-0000-000000000000", "Reasons": ["FACE_NOT_FOUND"]},
    ]
    rekognition.disassociate_faces(CollectionId="door", UserId="u-obama", FaceIds=[ids[0]])
    assert rekognition.delete_faces(CollectionId="door", FaceIds=[ids[0]])["DeletedFaces"] == [ids[0]]
    assert not Face.objects.filter(pk=ids[0]).exists()

    with pytest.raises(ClientError) as bad_token:
        rekognition.list_faces(CollectionId="door", NextToken="forged")
    assert bad_token.value.response["Error"]["Code"] == "InvalidPaginationTokenException"
    with pytest.raises(ClientError) as missing:
        rekognition.list_faces(CollectionId="nowhere")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert rekognition.delete_collection(CollectionId="door")["StatusCode"] == 200
    assert "door" not in rekognition.list_collections()["CollectionIds"]


def test_a_face_unlike_the_users_faces_is_not_associated(admin_client):
    rekognition = admin_client
    rekognition.create_collection(CollectionId="check")
    obama, biden = (
        rekognition.index_faces(CollectionId="check", Image={"Bytes": photo(n)})["FaceRecords"][0]["Face"]["FaceId"]
        for n in ("obama.jpg", "biden.jpg")
    )
    rekognition.create_user(CollectionId="check", UserId="obama")
    rekognition.associate_faces(CollectionId="check", UserId="obama", FaceIds=[obama])
    result = rekognition.associate_faces(CollectionId="check", UserId="obama", FaceIds=[biden])
    [refused] = result["UnsuccessfulFaceAssociations"]
    assert refused["Reasons"] == ["LOW_MATCH_CONFIDENCE"] and refused["Confidence"] < 75


def test_where_consent_is_required_faces_go_to_a_user_only_with_it_on_record(admin_client, settings):
    settings.FACESITE_ENROL_REQUIRES_CONSENT = True
    rekognition = admin_client
    rekognition.create_collection(CollectionId="door")
    face_id = rekognition.index_faces(CollectionId="door", Image={"Bytes": photo("obama.jpg")})["FaceRecords"][0][
        "Face"
    ]["FaceId"]
    rekognition.create_user(CollectionId="door", UserId="u-obama")
    with pytest.raises(ClientError) as refused:
        rekognition.associate_faces(CollectionId="door", UserId="u-obama", FaceIds=[face_id])
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "no consent on record" in refused.value.response["Error"]["Message"]
    assert Face.objects.get(pk=face_id).person is None

    owner = CollectionUser.objects.get(user_id="u-obama").person
    Person.objects.filter(pk=owner.pk).update(consent_given_at="2026-12-06T09:00:00Z")
    associated = rekognition.associate_faces(CollectionId="door", UserId="u-obama", FaceIds=[face_id])
    assert [f["FaceId"] for f in associated["AssociatedFaces"]] == [face_id]


def test_bad_requests_get_the_errors_aws_gives(admin_client):
    rekognition = admin_client
    with pytest.raises(ClientError) as no_face:
        rekognition.compare_faces(SourceImage={"Bytes": photo("dog.jpg")}, TargetImage={"Bytes": photo("obama.jpg")})
    assert no_face.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as not_an_image:
        rekognition.detect_faces(Image={"Bytes": b"GIF89a not really"})
    assert not_an_image.value.response["Error"]["Code"] == "InvalidImageFormatException"
    with pytest.raises(ClientError) as too_big:
        rekognition.detect_faces(Image={"Bytes": b"\xff\xd8" + b"\0" * (5 * 1024 * 1024)})
    assert too_big.value.response["Error"]["Code"] == "ImageTooLargeException"
    with pytest.raises(ClientError) as too_many_pixels:  # a small PNG of 8000 × 8000 black pixels
        rekognition.detect_faces(Image={"Bytes": images.solid((0, 0, 0), (8000, 8000))})
    assert too_many_pixels.value.response["Error"]["Code"] == "ImageTooLargeException"
    assert "8000×8000 pixels, above the limit" in too_many_pixels.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as unsupported:
        rekognition.recognize_celebrities(Image={"Bytes": photo("obama.jpg")})
    assert unsupported.value.response["Error"]["Code"] == "UnsupportedOperationException"
    assert "REKOGNITION-API.md" in unsupported.value.response["Error"]["Message"]
    response = unsupported.value.response["ResponseMetadata"]
    assert response["HTTPStatusCode"] == 400 and response["RequestId"]


def test_the_aws_cli_works_too(admin_client, live_server):
    from django.contrib.auth import get_user_model

    from rekognition_api.keys import access_key_create

    key, secret = access_key_create(user=get_user_model().objects.get(username="admin-1"))
    admin_client.create_collection(CollectionId="cli")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key.access_key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    aws = Path(sys.executable).with_name("aws")
    result = subprocess.run(
        [str(aws), "--endpoint-url", f"{live_server.url}/rekognition", "rekognition", "list-collections"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "cli" in json.loads(result.stdout)["CollectionIds"]


def test_parameters_are_checked_on_the_server_against_the_service_model(live_server, local_engine):
    import boto3
    from botocore.config import Config

    from rekognition_api.keys import access_key_create

    key, secret = access_key_create(user=UserFactory(role=roles.ADMINISTRATOR))
    unchecked = boto3.client(
        "rekognition", endpoint_url=f"{live_server.url}/rekognition", region_name=REGION,
        aws_access_key_id=key.access_key_id, aws_secret_access_key=secret,
        config=Config(parameter_validation=False, retries={"total_max_attempts": 1}),
    )  # fmt: skip
    with pytest.raises(ClientError) as out_of_range:
        unchecked.search_faces_by_image(CollectionId="default", Image={"Bytes": photo("obama.jpg")}, MaxFaces=0)
    error = out_of_range.value.response["Error"]
    assert error["Code"] == "ValidationException" and "MaxFaces" in error["Message"]
    with pytest.raises(ClientError) as bad_name:
        unchecked.create_collection(CollectionId="no spaces allowed")
    assert bad_name.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as bad_level:
        unchecked.index_faces(CollectionId="default", Image={"Bytes": photo("obama.jpg")}, QualityFilter="BEST")
    assert bad_level.value.response["Error"] == {"Code": "ValidationException", "Message": (
        "Value 'BEST' at 'QualityFilter' failed to satisfy constraint: Member must satisfy enum value set: "
        "[NONE, AUTO, LOW, MEDIUM, HIGH]")}  # fmt: skip


def test_deleting_a_collection_a_camera_watches_with_is_refused_as_aws_refuses_one_in_use(admin_client):
    rekognition = admin_client
    rekognition.create_collection(CollectionId="gate-cameras")
    gate = Camera(name="gate", collection=Collection.objects.get(name="gate-cameras"))
    gate.stream_url = "rtsp://192.0.2.7:554/stream1"
    gate.save()
    with pytest.raises(ClientError) as in_use:
        rekognition.delete_collection(CollectionId="gate-cameras")
    error = in_use.value.response["Error"]
    assert error["Code"] == "ResourceInUseException" and "1 camera" in error["Message"]
    assert "gate-cameras" in rekognition.list_collections()["CollectionIds"]


@pytest.mark.parametrize(
    ("code", "aws"),
    [("image_too_large", "ImageTooLargeException"), ("invalid_image", "InvalidImageFormatException"),
     ("no_face", "InvalidParameterException")],
)  # fmt: skip
def test_an_engines_refusal_is_the_aws_error_for_the_same_fault(code, aws):
    """Behind this API may be Amazon's own engine: its ImageTooLargeException stays one."""
    assert as_aws_error(EngineFailed("refused", code=code, retryable=False)).error_type == aws


def test_compare_faces_applies_its_quality_filter(admin_client, settings):
    from PIL import Image as Picture

    def side(name: str, box: dict) -> float:
        width, height = Picture.open(FIXTURES / name).size
        return min(box["Width"] * width, box["Height"] * height)

    rekognition = admin_client
    source, target = "obama.jpg", "obama2.jpg"
    plain = rekognition.compare_faces(SourceImage={"Bytes": photo(source)}, TargetImage={"Bytes": photo(target)})
    [match] = plain["FaceMatches"]
    source_side, target_side = (
        side(source, plain["SourceImageFace"]["BoundingBox"]),
        side(target, match["Face"]["BoundingBox"]),
    )
    assert source_side != target_side
    if source_side < target_side:  # the larger face as the source
        source, target = target, source
    small, large = sorted((source_side, target_side))

    settings.FACESITE_ENROL_MIN_FACE_PIXELS = (small + large) / 2  # the target's face is too small, the source's not
    filtered = rekognition.compare_faces(SourceImage={"Bytes": photo(source)}, TargetImage={"Bytes": photo(target)},
                                         QualityFilter="AUTO")  # fmt: skip
    assert filtered["FaceMatches"] == [] and filtered["UnmatchedFaces"] == [], "left out, as Rekognition does"
    unfiltered = rekognition.compare_faces(SourceImage={"Bytes": photo(source)}, TargetImage={"Bytes": photo(target)})
    assert len(unfiltered["FaceMatches"]) == 1, "NONE, CompareFaces' default, compares every face"

    settings.FACESITE_ENROL_MIN_FACE_PIXELS = large + 1
    with pytest.raises(ClientError) as refused:
        rekognition.compare_faces(SourceImage={"Bytes": photo(source)}, TargetImage={"Bytes": photo(target)},
                                  QualityFilter="HIGH")  # fmt: skip
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterException" and "SMALL_BOUNDING_BOX" in error["Message"]


def test_searches_by_image_apply_their_quality_filter(admin_client, settings):
    rekognition = admin_client
    rekognition.create_collection(CollectionId="door")
    rekognition.index_faces(CollectionId="door", Image={"Bytes": photo("obama.jpg")})
    probe = {"Bytes": photo("obama2.jpg")}
    settings.FACESITE_ENROL_MIN_FACE_PIXELS = 10_000  # no face of these photos is that large
    assert rekognition.search_faces_by_image(CollectionId="door", Image=probe)["FaceMatches"], "NONE: searched"
    for search in (rekognition.search_faces_by_image, rekognition.search_users_by_image):
        with pytest.raises(ClientError) as refused:
            search(CollectionId="door", Image=probe, QualityFilter="MEDIUM")
        error = refused.value.response["Error"]
        assert error["Code"] == "InvalidParameterException"
        assert error["Message"] == "No face in the image passes the quality filter (SMALL_BOUNDING_BOX)."


def test_index_faces_quality_filter_levels_differ(admin_client):
    rekognition = admin_client
    rekognition.create_collection(CollectionId="signs")
    sign = {"Bytes": photo("scenetext01.jpg")}  # a street sign the detector takes, side-on, for a face

    def unindexed(level: str) -> list[list[str]]:
        answer = rekognition.index_faces(CollectionId="signs", Image=sign, QualityFilter=level)
        assert answer["FaceRecords"] == [] or level == "NONE"
        return [face["Reasons"] for face in answer["UnindexedFaces"]]

    assert unindexed("LOW") == [["LOW_SHARPNESS"]]
    assert unindexed("HIGH") == [["SMALL_BOUNDING_BOX", "LOW_SHARPNESS", "LOW_CONFIDENCE", "EXTREME_POSE"]]
    assert unindexed("NONE") == [] and len(rekognition.list_faces(CollectionId="signs")["Faces"]) == 1
