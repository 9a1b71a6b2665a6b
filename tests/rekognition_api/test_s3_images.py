"""S3Object images, read from a real S3-compatible server on loopback (moto's standalone server)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from backoffice import roles
from tests.factories import UserFactory
from tests.images import FIXTURES
from tests.rekognition_api.clients import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_images_are_read_from_s3(live_server, settings, s3_server):
    settings.RECOGNITION_ENGINE = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}
    s3_server.put_object(Bucket="photos", Key="people/obama.jpg", Body=(FIXTURES / "obama.jpg").read_bytes())
    rekognition = client_for(live_server, UserFactory(role=roles.ADMINISTRATOR))

    faces = rekognition.detect_faces(Image={"S3Object": {"Bucket": "photos", "Name": "people/obama.jpg"}})
    assert len(faces["FaceDetails"]) == 1

    with pytest.raises(ClientError) as missing:
        rekognition.detect_faces(Image={"S3Object": {"Bucket": "photos", "Name": "people/nobody.jpg"}})
    assert missing.value.response["Error"]["Code"] == "InvalidS3ObjectException"


def test_only_the_buckets_listed_are_read(live_server, settings, s3_server):
    """Facesite reads with its own credentials: a caller must not reach every bucket those can."""
    settings.RECOGNITION_ENGINE = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}
    s3_server.create_bucket(Bucket="payroll")
    s3_server.put_object(Bucket="payroll", Key="obama.jpg", Body=(FIXTURES / "obama.jpg").read_bytes())
    rekognition = client_for(live_server, UserFactory(role=roles.ADMINISTRATOR))
    elsewhere = {"S3Object": {"Bucket": "payroll", "Name": "obama.jpg"}}

    with pytest.raises(ClientError) as refused:
        rekognition.detect_faces(Image=elsewhere)
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidS3ObjectException"
    assert "only from the buckets in FACESITE_REKOGNITION_API_S3_BUCKETS, and payroll is not" in error["Message"]

    settings.FACESITE_REKOGNITION_API_S3_BUCKETS = ["*"]
    assert len(rekognition.detect_faces(Image=elsewhere)["FaceDetails"]) == 1, "every bucket, where told so"


def test_an_image_larger_than_rekognition_reads_from_s3_is_refused_unread(live_server, s3_server, monkeypatch):
    from rekognition_api.operations import common

    photo = (FIXTURES / "obama.jpg").read_bytes()
    monkeypatch.setattr(common, "MAX_S3_BYTES", len(photo) - 1)  # AWS's 15 MB, without sending 15 MB here
    s3_server.put_object(Bucket="photos", Key="people/obama.jpg", Body=photo)
    rekognition = client_for(live_server, UserFactory(role=roles.ADMINISTRATOR))
    with pytest.raises(ClientError) as too_large:
        rekognition.detect_faces(Image={"S3Object": {"Bucket": "photos", "Name": "people/obama.jpg"}})
    error = too_large.value.response["Error"]
    assert error["Code"] == "ImageTooLargeException" and "the most Rekognition reads from S3" in error["Message"]
