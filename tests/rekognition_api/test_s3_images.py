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
