"""What the Rekognition-compatible API's tests share: an S3-compatible server on loopback for ``S3Object``s."""

import pytest

from tests import servers


@pytest.fixture
def s3_server(settings, monkeypatch):
    """moto's standalone server as the S3 the API reads ``S3Object``s from, with a bucket ``photos``; a client."""
    settings.FACESITE_REKOGNITION_API_S3_BUCKETS = ["photos"]
    with servers.s3_read_from(settings, monkeypatch, "photos") as s3:
        yield s3
