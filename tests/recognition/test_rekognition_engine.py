"""The Rekognition engine alone: each call's request (checked against botocore's service model by the
Stubber) and how each answer and error comes back through the engine interface."""

from __future__ import annotations

import io

import boto3
import numpy as np
import pytest
from botocore.stub import ANY, Stubber
from PIL import Image

from recognition.engines.base import CollectionMissingError, EngineError, S3Location
from recognition.engines.rekognition import RekognitionEngine
from recognition.engines.rekognition.payload import MAX_BYTES, MIN_SIDE
from tests import aws, images
from tests.images import FIXTURES
from tests.servers import closed_port

PHOTO = (FIXTURES / "obama.jpg").read_bytes()


@pytest.fixture
def stub():
    client = boto3.client("rekognition", region_name=aws.REGION, aws_access_key_id="k", aws_secret_access_key="s")
    engine = aws.StubbedRekognitionEngine(region=aws.REGION, collection_prefix=aws.PREFIX)
    aws.StubbedRekognitionEngine.shared_client = client
    scripted = aws.Rekognition(client)
    with scripted.stubber:
        yield engine, scripted
        scripted.stubber.assert_no_pending_responses()
    aws.StubbedRekognitionEngine.shared_client = None


def sent_image(stubber: Stubber, operation: str, response: dict) -> list:
    """Queue a response and capture the Image parameter the engine sends with it."""
    seen: list = []

    class Capture:
        def __eq__(self, other):
            seen.append(other)
            return True

    stubber.add_response(operation, response, {"Image": Capture(), "Attributes": ANY})
    return seen


def test_analysis_asks_for_every_feature_and_keeps_every_field(stub):
    engine, rekognition = stub
    engine.word_filter = {"MinConfidence": 80.0}
    rekognition.answer(
        "detect_labels",
        {
            "Labels": [
                {"Name": "Car", "Confidence": 91.5, "Parents": [{"Name": "Vehicle"}],
                 "Aliases": [{"Name": "Automobile"}], "Categories": [{"Name": "Vehicles and Automotive"}],
                 "Instances": [{"BoundingBox": {"Left": 0.1, "Top": 0.2, "Width": 0.3, "Height": 0.4},
                                "Confidence": 90.0}]},
                {"Name": "Vehicle", "Confidence": 95.0},
            ],
            "ImageProperties": {
                "Quality": {"Brightness": 71.0, "Sharpness": 88.0, "Contrast": 60.0},
                "DominantColors": [{"HexCode": "#102030", "SimplifiedColor": "blue", "PixelPercent": 42.0,
                                    "Red": 16, "Green": 32, "Blue": 48, "CSSColor": "midnightblue"}],
            },
        },
        {"Image": ANY, "Features": ["GENERAL_LABELS", "IMAGE_PROPERTIES"], "MaxLabels": 50, "MinConfidence": 55.0,
         "Settings": {"ImageProperties": {"MaxDominantColors": 10}}},
    )  # fmt: skip
    small, large = (
        aws.face_detail({"Left": 0.1, "Top": 0.1, "Width": 0.1, "Height": 0.1}, attributes=True),
        aws.face_detail({"Left": 0.5, "Top": 0.2, "Width": 0.3, "Height": 0.4}, attributes=True),
    )
    rekognition.detect_faces([small, large], attributes=True)
    rekognition.answer(
        "detect_text",
        {"TextDetections": [
            {"DetectedText": "EXIT", "Type": "LINE", "Id": 0, "Confidence": 99.0,
             "Geometry": {"BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.2, "Height": 0.05},
                          "Polygon": [{"X": 0.1, "Y": 0.1}, {"X": 0.3, "Y": 0.1}, {"X": 0.3, "Y": 0.15}]}},
            {"DetectedText": "EXIT", "Type": "WORD", "Id": 1, "ParentId": 0, "Confidence": 98.0,
             "Geometry": {"BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.2, "Height": 0.05}}},
        ]},
        {"Image": ANY, "Filters": {"WordFilter": {"MinConfidence": 80.0}}},
    )  # fmt: skip
    rekognition.answer(
        "detect_moderation_labels",
        {"ModerationLabels": [{"Name": "Weapons", "ParentName": "Violence", "TaxonomyLevel": 2, "Confidence": 77.0}]},
        {"Image": ANY, "MinConfidence": 50.0},
    )

    result = engine.analyse(PHOTO, features=["labels", "faces", "text", "moderation", "properties"])

    assert [label.name for label in result.labels] == ["Vehicle", "Car"]  # most confident first
    car = result.labels[1]
    assert (car.parents, car.aliases, car.categories) == (("Vehicle",), ("Automobile",), ("Vehicles and Automotive",))
    assert car.instances[0].bounding_box.as_dict() == {"Left": 0.1, "Top": 0.2, "Width": 0.3, "Height": 0.4}
    assert result.properties.as_dict()["Quality"] == {"Brightness": 71.0, "Sharpness": 88.0, "Contrast": 60.0}
    assert result.properties.dominant_colours[0].simplified == "blue"
    assert result.faces[0].bounding_box.left == 0.5, "largest face first"
    attributes = result.faces[0].attributes
    assert set(attributes) == {"AgeRange", "Smile", "Eyeglasses", "Sunglasses", "Gender", "Beard", "Mustache",
                               "EyesOpen", "MouthOpen", "Emotions", "FaceOccluded", "EyeDirection"}  # fmt: skip
    assert result.faces[0].pose == {"Roll": 1.5, "Yaw": -3.0, "Pitch": 2.0}
    assert result.faces[0].embedding is None
    assert [(t.text, t.type, t.parent_id) for t in result.text] == [("EXIT", "LINE", None), ("EXIT", "WORD", 0)]
    [weapons] = result.moderation
    assert (weapons.parent_name, weapons.taxonomy_level) == ("Violence", 2)


def test_an_acceptable_jpeg_is_sent_as_it_is(stub):
    engine, rekognition = stub
    seen = sent_image(rekognition.stubber, "detect_faces", {"FaceDetails": []})
    engine.detect_faces(PHOTO)
    assert seen == [{"Bytes": PHOTO}]


def test_s3_stored_images_are_read_there_in_the_same_region_only(stub):
    engine, rekognition = stub
    here = S3Location(bucket="photos", key="media/images/a.jpg", region=aws.REGION)
    elsewhere = S3Location(bucket="photos", key="media/images/a.jpg", region="us-east-1")
    seen = sent_image(rekognition.stubber, "detect_faces", {"FaceDetails": []})
    engine.analyse(PHOTO, features=["faces"], location=here)
    assert seen == [{"S3Object": {"Bucket": "photos", "Name": "media/images/a.jpg"}}]
    seen = sent_image(rekognition.stubber, "detect_faces", {"FaceDetails": []})
    engine.analyse(PHOTO, features=["faces"], location=elsewhere)
    assert seen == [{"Bytes": PHOTO}]


def test_a_9_mb_png_is_sent_as_a_jpeg_under_5_mb_of_the_same_picture(stub):
    engine, rekognition = stub
    noise = np.random.default_rng(1).integers(0, 256, size=(1800, 1800, 3), dtype=np.uint8)
    big = images.encode(Image.fromarray(noise), "PNG")
    assert len(big) > 9_000_000
    seen = sent_image(rekognition.stubber, "detect_faces", {"FaceDetails": []})
    engine.detect_faces(big)
    sent = seen[0]["Bytes"]
    assert len(sent) <= MAX_BYTES
    picture = Image.open(io.BytesIO(sent))
    assert picture.format == "JPEG" and picture.width == picture.height  # same proportions


def test_formats_and_sizes_rekognition_refuses_are_converted(stub):
    engine, rekognition = stub
    for data in (images.solid((10, 200, 10), (300, 200), "WEBP"), images.jpeg((40, 30))):
        seen = sent_image(rekognition.stubber, "detect_faces", {"FaceDetails": []})
        engine.detect_faces(data)
        picture = Image.open(io.BytesIO(seen[0]["Bytes"]))
        assert picture.format == "JPEG" and min(picture.size) >= MIN_SIDE


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("SMALL_BOUNDING_BOX", "face_too_small"),
        ("LOW_SHARPNESS", "face_too_blurry"),
        ("EXTREME_POSE", "extreme_pose"),
        ("LOW_BRIGHTNESS", "face_too_dark"),
        ("LOW_CONFIDENCE", "low_face_quality"),
        ("EXCEEDS_MAX_FACES", "several_faces"),
    ],
)
def test_unindexed_faces_give_the_enrolment_codes(stub, reason, code):
    engine, rekognition = stub
    rekognition.answer(
        "index_faces",
        {"FaceRecords": [], "UnindexedFaces": [{"Reasons": [reason], "FaceDetail": aws.face_detail()}]},
    )
    with pytest.raises(EngineError) as caught:
        engine.index_faces("default", PHOTO, external_image_id="face-1")
    assert (caught.value.code, caught.value.retryable) == (code, False)


def test_no_face_at_all_is_no_face(stub):
    engine, rekognition = stub
    rekognition.answer("index_faces", {"FaceRecords": [], "UnindexedFaces": []})
    with pytest.raises(EngineError) as caught:
        engine.index_faces("default", PHOTO)
    assert caught.value.code == "no_face"


@pytest.mark.parametrize(
    ("aws_code", "message", "code"),
    [
        ("InvalidImageFormatException", "Request has invalid image format", "invalid_image"),
        ("ImageTooLargeException", "Image size is too large", "image_too_large"),
        ("InvalidParameterException", "Request has invalid parameters", "invalid_parameter"),
        ("AccessDeniedException", "User is not authorized", "access_denied"),
        ("InvalidS3ObjectException", "Unable to get object metadata from S3", "invalid_s3_object"),
    ],
)
def test_permanent_errors_name_their_cause(stub, aws_code, message, code):
    engine, rekognition = stub
    rekognition.fail("detect_faces", aws_code, message)
    with pytest.raises(EngineError) as caught:
        engine.detect_faces(PHOTO)
    assert (caught.value.code, caught.value.retryable) == (code, False)
    assert aws_code in caught.value.message and message in caught.value.message


@pytest.mark.parametrize(
    "aws_code",
    ["ThrottlingException", "ProvisionedThroughputExceededException", "InternalServerError", "ServiceUnavailable"],
)
def test_passing_errors_are_retryable(stub, aws_code):
    engine, rekognition = stub
    rekognition.fail("detect_faces", aws_code, "Slow down", status=500 if "Internal" in aws_code else 400)
    with pytest.raises(EngineError) as caught:
        engine.detect_faces(PHOTO)
    assert caught.value.retryable


def test_an_unreachable_endpoint_is_retryable(monkeypatch):
    # Real boto3 over a real socket: AWS_ENDPOINT_URL_REKOGNITION (boto3's own variable) is honoured.
    port = closed_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_REKOGNITION", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    engine = RekognitionEngine(region=aws.REGION, max_attempts=1, connect_timeout=1)
    with pytest.raises(EngineError) as caught:
        engine.detect_faces(PHOTO)
    assert caught.value.retryable and str(port) in caught.value.message


def test_missing_credentials_are_a_clear_permanent_error(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    engine = RekognitionEngine(region=aws.REGION, max_attempts=1)
    with pytest.raises(EngineError) as caught:
        engine.detect_faces(PHOTO)
    assert caught.value.code == "access_denied" and "credentials" in caught.value.message


def test_one_client_per_thread():
    import threading

    engine = RekognitionEngine(region=aws.REGION)
    seen = []
    thread = threading.Thread(target=lambda: seen.append(engine.client))
    thread.start()
    thread.join()
    assert engine.client is engine.client and seen[0] is not engine.client
    assert engine.client.meta.config.retries["mode"] == "standard"


def test_a_lost_collection_is_reported_as_missing(stub):
    engine, rekognition = stub
    rekognition.fail("search_users_by_image", "ResourceNotFoundException", "The collection id: test-x does not exist")
    face = aws_face()
    with pytest.raises(CollectionMissingError):
        engine.search_users("x", PHOTO, face)


def test_a_search_that_finds_no_face_in_the_cut_out_matches_no_one(stub):
    engine, rekognition = stub
    rekognition.fail("search_users_by_image", "InvalidParameterException", "There are no faces in the image.")
    assert engine.search_users("default", PHOTO, aws_face()) == []


def test_compare_reports_every_target_face_with_its_similarity(stub):
    engine, rekognition = stub
    rekognition.answer(
        "compare_faces",
        {
            "SourceImageFace": {"BoundingBox": aws.FACE_BOX, "Confidence": 99.0},
            "FaceMatches": [
                {"Similarity": 97.0, "Face": {"BoundingBox": aws.FACE_BOX, "Confidence": 99.0}},
                {"Similarity": 12.0, "Face": {"BoundingBox": {"Left": 0.7, "Top": 0.1, "Width": 0.1, "Height": 0.1},
                                              "Confidence": 98.0}},
            ],
            "UnmatchedFaces": [],
        },
        {"SourceImage": ANY, "TargetImage": ANY, "SimilarityThreshold": 0.0, "QualityFilter": "NONE"},
    )  # fmt: skip
    result = engine.compare_faces(PHOTO, PHOTO, threshold=80)
    assert [c.similarity for c in result.matches] == [97.0]
    assert [c.similarity for c in result.unmatched] == [12.0]


def test_faces_that_still_belong_to_a_user_are_not_silently_kept(stub):
    engine, rekognition = stub
    rekognition.answer(
        "delete_faces",
        {"UnsuccessfulFaceDeletions": [
            {"FaceId": "11111111-1111-1111-1111-111111111111", "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]}]},
        {"CollectionId": "test-default", "FaceIds": ["11111111-1111-1111-1111-111111111111"]},
    )  # fmt: skip
    with pytest.raises(EngineError, match="still belong to a user"):
        engine.delete_faces("default", ["11111111-1111-1111-1111-111111111111"])


def test_collections_are_created_once_and_existing_ones_are_fine(stub):
    engine, rekognition = stub
    rekognition.fail("create_collection", "ResourceAlreadyExistsException", "exists")
    assert engine.create_collection("default") is False
    assert engine.create_collection("default") is False  # known now: no second call
    rekognition.create_collection("other")
    assert engine.create_collection("other") is True


def aws_face():
    from recognition.engines.rekognition import parse

    return parse.face(aws.face_detail())
