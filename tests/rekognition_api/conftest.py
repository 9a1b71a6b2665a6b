"""What the Rekognition-compatible API's tests share: an S3-compatible server on loopback for ``S3Object``s."""

import boto3
import pytest

from tests import servers


@pytest.fixture
def s3_server(settings, monkeypatch):
    """moto's standalone server as the S3 the API reads ``S3Object``s from, with a bucket ``photos``; a client."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "s3-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3-secret")
    with servers.s3_server() as url:
        settings.REKOGNITION_API_S3 = {"endpoint_url": url, "region_name": "us-east-1"}
        settings.FACESITE_REKOGNITION_API_S3_BUCKETS = ["photos"]
        s3 = boto3.session.Session().client("s3", endpoint_url=url, region_name="us-east-1")
        s3.create_bucket(Bucket="photos")
        yield s3
