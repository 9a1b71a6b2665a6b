"""What the Rekognition-compatible API's tests share: an S3-compatible server on loopback for ``S3Object``s."""

import pytest
import redis

from recognition.models import Collection
from tests import servers


@pytest.fixture
def s3_server(settings, monkeypatch):
    """moto's standalone server as the S3 the API reads ``S3Object``s from, with a bucket ``photos``; a client."""
    settings.FACESITE_REKOGNITION_API_S3_BUCKETS = ["photos"]
    with servers.s3_read_from(settings, monkeypatch, "photos") as s3:
        yield s3


@pytest.fixture
def video_jobs(settings):
    """For Rekognition Video's jobs: the real local engine, the default collection (which calls name), and
    the video queue emptied after the test (the jobs' tasks are run in the test instead)."""
    settings.RECOGNITION_ENGINE = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}
    Collection.get_default()
    yield
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("video")
