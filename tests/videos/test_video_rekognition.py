"""Videos with the Rekognition engine (boto3 answered by botocore's Stubber, checked against the service
model): a video in S3 goes through Rekognition's stored-video face search, polled without SNS; a video
stored elsewhere goes frame by frame through the image calls."""

import io

import pytest
from botocore.stub import ANY

from recognition.services.files import file_s3_location
from recognition.services.people import person_enroll
from tests import aws, images
from tests.clips import analysed_here, video
from tests.conftest import S3_MEDIA_BUCKET
from tests.factories import PersonFactory
from videos.models import Video
from videos.services import video_upload

pytestmark = pytest.mark.django_db(transaction=True)


def hit(ms: int, index: int, left: float = 0.35) -> dict:
    box = {"Left": left, "Top": 0.2, "Width": 0.3, "Height": 0.4}
    return {"Timestamp": ms, "Person": {"Index": index, "BoundingBox": box, "Face": aws.face_detail(box)}}


@pytest.fixture
def enrolled(rekognition, settings):
    settings.RECOGNITION_ENGINE = aws.engine_settings(video_poll_seconds=0.0)
    obama = PersonFactory(name="Barack Obama")
    rekognition.enrol(obama)
    person_enroll(person=obama, data=images.jpeg((320, 240), seed=3))
    return obama


def test_a_video_in_s3_is_searched_by_rekognition_and_each_person_identified_once(rekognition, enrolled, s3_media):
    uploaded = video_upload(file=io.BytesIO(video([("obama.jpg", 2.0), ("biden.jpg", 1.0)])), filename="door.mp4")
    location = file_s3_location(uploaded.file)
    assert location is not None and location.bucket == S3_MEDIA_BUCKET
    rekognition.answer(
        "start_face_search", {"JobId": "job-1"},
        {"CollectionId": "test-default", "Video": {"S3Object": {"Bucket": S3_MEDIA_BUCKET, "Name": location.key}}},
    )  # fmt: skip
    first_page = {"JobId": "job-1", "MaxResults": 1000, "SortBy": "INDEX"}
    rekognition.answer("get_face_search", {"JobStatus": "IN_PROGRESS"}, first_page)
    rekognition.answer(
        "get_face_search",
        {"JobStatus": "SUCCEEDED", "Persons": [hit(0, 0), hit(500, 0), hit(1000, 0)], "NextToken": "page-2"},
        first_page,
    )
    rekognition.answer(
        "get_face_search", {"JobStatus": "SUCCEEDED", "Persons": [hit(1500, 0), hit(2000, 1), hit(2500, 1)]},
        {**first_page, "NextToken": "page-2"},
    )  # fmt: skip
    # One identification per person followed, with the best frame decoded from the video.
    rekognition.search_users([(enrolled, 97.0)], threshold=60.0, max_users=1)
    rekognition.search_users([], threshold=60.0, max_users=1)

    done = analysed_here(uploaded)

    assert done.status == Video.Status.DONE, done.error
    assert done.chunks.count() == 1 and done.engine == "rekognition"
    obama, stranger = done.sightings.order_by("first_at")
    assert (obama.person, obama.first_at, obama.last_at, len(obama.boxes)) == (enrolled, 0.0, 1.5, 4)
    assert (stranger.person, stranger.first_at, stranger.last_at) == (None, 2.0, 2.5)
    assert obama.frame.width == 640 and obama.frame.source == "video"


def test_a_failed_rekognition_job_fails_the_video_with_its_reason(rekognition, enrolled, s3_media):
    uploaded = video_upload(file=io.BytesIO(video([("obama.jpg", 1.0)])), filename="door.mp4")
    rekognition.answer("start_face_search", {"JobId": "job-2"}, {"CollectionId": "test-default", "Video": ANY})
    rekognition.answer(
        "get_face_search", {"JobStatus": "FAILED", "StatusMessage": "Unsupported codec."},
        {"JobId": "job-2", "MaxResults": 1000, "SortBy": "INDEX"},
    )  # fmt: skip
    failed = analysed_here(uploaded)
    assert failed.status == Video.Status.FAILED
    assert failed.error == "Rekognition could not search the video: Unsupported codec."


def test_a_video_outside_s3_goes_frame_by_frame_through_the_image_calls(rekognition, enrolled):
    uploaded = video_upload(file=io.BytesIO(video([("obama.jpg", 1.0)])), filename="door.mp4")
    rekognition.detect_faces()  # the frame at 0 s
    rekognition.detect_faces()  # and at 0.5 s: one face, followed by its box (no embeddings from AWS)
    rekognition.search_users([(enrolled, 95.0)], threshold=60.0, max_users=1)
    done = analysed_here(uploaded)
    assert done.status == Video.Status.DONE, done.error
    assert [(s.person, s.first_at, s.last_at) for s in done.sightings.all()] == [(enrolled, 0.0, 0.5)]


def test_a_video_only_followed_is_not_handed_to_rekognitions_face_search(rekognition, enrolled, s3_media):
    """StartFaceDetection's videos are searched among no one: not at AWS either, though stored where it reads."""
    uploaded = video_upload(file=io.BytesIO(video([("obama.jpg", 1.0)])), filename="door.mp4")
    assert file_s3_location(uploaded.file) is not None
    Video.objects.filter(pk=uploaded.pk).update(identify=False)
    rekognition.detect_faces()  # the frame at 0 s
    rekognition.detect_faces()  # and at 0.5 s; no StartFaceSearch, no SearchUsersByImage
    done = analysed_here(uploaded)
    assert done.status == Video.Status.DONE, done.error
    assert [(s.person, s.candidate, s.first_at, s.last_at) for s in done.sightings.all()] == [(None, None, 0.0, 0.5)]
