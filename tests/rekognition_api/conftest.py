"""What the Rekognition-compatible API's tests share: an S3-compatible server on loopback for ``S3Object``s."""

import pytest
import redis

from backoffice import roles
from recognition.models import Collection
from tests import servers
from tests.factories import UserFactory
from tests.rekognition_api.clients import client_for


@pytest.fixture
def s3_server(settings, monkeypatch):
    """moto's standalone server as the S3 the API reads ``S3Object``s from, with a bucket ``photos``; a client."""
    settings.FACESITE_REKOGNITION_API_S3_BUCKETS = ["photos"]
    with servers.s3_read_from(settings, monkeypatch, "photos") as s3:
        yield s3


@pytest.fixture
def shape_checked_client(live_server, checked):
    """Makes a boto3 client for a user of a role, every answer of which must fit its operation's output shape
    (checked once the test is done)."""
    yield lambda role: client_for(live_server, UserFactory(role=role), checked=checked)
    assert [problem for _, problems in checked for problem in problems] == [], "answers fit botocore's shapes"


@pytest.fixture
def operator_rekognition(shape_checked_client):
    """An operator's boto3 client, its answers checked against their shapes."""
    return shape_checked_client(roles.OPERATOR)


@pytest.fixture
def video_jobs(settings):
    """For Rekognition Video's jobs: the real local engine, the default collection (which calls name), and
    the video queue emptied after the test (the jobs' tasks are run in the test instead)."""
    settings.RECOGNITION_ENGINE = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}
    Collection.get_default()
    yield
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("video")
