"""Against real Amazon Rekognition, when asked to: FACESITE_LIVE_AWS=1 and AWS credentials in the usual
places (environment, profile, role). It creates its own collection and deletes it afterwards; it costs
a few tenths of a cent at list price."""

from __future__ import annotations

import os
import uuid

import boto3
import pytest

from recognition.engines.rekognition import RekognitionEngine
from tests.images import FIXTURES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("FACESITE_LIVE_AWS") != "1" or boto3.session.Session().get_credentials() is None,
        reason="live AWS test: set FACESITE_LIVE_AWS=1 and AWS credentials to run it",
    ),
]


def photo(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_enrol_search_and_compare_on_aws():
    engine = RekognitionEngine(
        region=os.environ.get("FACESITE_REKOGNITION_REGION") or None,
        collection_prefix=f"facesite-live-{uuid.uuid4().hex[:8]}-",
    )
    user = str(uuid.uuid4())
    try:
        assert engine.create_collection("people") is True
        [indexed] = engine.index_faces("people", photo("obama.jpg"), external_image_id=str(uuid.uuid4()))
        engine.associate_faces("people", user, [indexed.face_id])

        probe = photo("obama2.jpg")
        [face] = engine.detect_faces(probe, attributes=True)
        assert face.attributes["Gender"]["Value"] == "Male" and 0 <= face.bounding_box.left < 1
        [match] = engine.search_users("people", probe, face, threshold=80.0, max_users=5)
        assert match.user_id == user and match.similarity > 80

        stranger = photo("biden.jpg")
        [other] = engine.detect_faces(stranger, attributes=False)
        assert engine.search_users("people", stranger, other, threshold=80.0) == []
        assert engine.compare_faces(photo("obama.jpg"), probe).matches
    finally:
        engine.delete_collection("people")
