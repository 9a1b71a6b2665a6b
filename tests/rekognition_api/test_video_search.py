"""StartFaceSearch and GetFaceSearch, StartFaceDetection and GetFaceDetection through boto3: a video read from
a real S3-compatible server on loopback, analysed by the real local engine (the video tasks run here), its
sightings answered as Rekognition Video's ``Persons`` and ``Faces``, every answer walked against botocore's
output shapes."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from backoffice import roles
from recognition.models import AuditEvent, Face
from tests import servers
from tests.clips import analysed_here, video
from tests.factories import UserFactory
from tests.images import FIXTURES
from tests.rekognition_api.clients import client_for
from videos.analysis import video_fail
from videos.models import Sighting, Video

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("video_jobs")]

# Obama for 3 s, then Biden for 3 s, then nobody for 3 s.
SCENES = [("obama.jpg", 3.0), ("biden.jpg", 3.0), (None, 3.0)]
DOOR = {"S3Object": {"Bucket": "photos", "Name": "cameras/door.mp4"}}


def error_code(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]


def test_a_video_in_s3_is_searched_for_the_enrolled_people(live_server, s3_server, obama_and_biden):
    obama, biden = obama_and_biden
    s3_server.put_object(Bucket="photos", Key="cameras/door.mp4", Body=video(SCENES))
    checked: list = []
    rekognition = client_for(live_server, UserFactory(role=roles.OPERATOR), checked=checked)

    job = rekognition.start_face_search(Video=DOOR, CollectionId="default", ClientRequestToken="door-1",
                                        JobTag="door-camera")["JobId"]  # fmt: skip
    again = rekognition.start_face_search(Video=DOOR, CollectionId="default", ClientRequestToken="door-1")
    assert again["JobId"] == job and Video.objects.count() == 1, "a retried start starts no second job"
    assert rekognition.get_face_search(JobId=job)["JobStatus"] == "IN_PROGRESS"

    analysed_here(Video.objects.get(pk=job))
    found = rekognition.get_face_search(JobId=job, SortBy="INDEX")
    assert (found["JobStatus"], found["JobTag"]) == ("SUCCEEDED", "door-camera")
    assert found["VideoMetadata"]["DurationMillis"] == pytest.approx(9000, abs=600)
    assert found["VideoMetadata"]["FrameWidth"] > 0 and "NextToken" not in found
    by_index: dict[int, list[dict]] = {}
    for hit in found["Persons"]:
        by_index.setdefault(hit["Person"]["Index"], []).append(hit)
    assert sorted(by_index) == [0, 1], "two faces followed, none in the empty part"
    for index, person, (start, end) in [(0, obama, (0, 3000)), (1, biden, (3000, 6000))]:
        hits = by_index[index]
        assert len(hits) >= 5 and all(start <= hit["Timestamp"] < end for hit in hits)
        [match] = {(m["Face"]["FaceId"], m["Similarity"]) for hit in hits for m in hit["FaceMatches"]}
        reference = Face.objects.references().get(person=person)
        assert match[0] == str(reference.pk) and match[1] >= 80
        box = hits[0]["Person"]["BoundingBox"]
        assert 0 < box["Width"] < 1 and 0 <= box["Left"] < 1
        face = hits[0]["Person"]["Face"]  # a FaceDetail of that frame, as Rekognition Video's
        assert face["BoundingBox"] == box and 50 <= face["Confidence"] <= 100
        assert {mark["Type"] for mark in face["Landmarks"]} >= {"eyeLeft", "eyeRight", "nose"}
        assert set(face["Pose"]) == {"Roll", "Yaw", "Pitch"} and set(face["Quality"]) == {"Brightness", "Sharpness"}
        assert "AgeRange" not in face and "Emotions" not in face, "StartFaceSearch asks for no attributes"
        eyes = next(mark for mark in face["Landmarks"] if mark["Type"] == "eyeLeft")
        assert box["Left"] < eyes["X"] < box["Left"] + box["Width"], "the landmarks are that frame's"
    assert {name for name, _ in checked} == {"StartFaceSearch", "GetFaceSearch"}
    assert [problem for _, problems in checked for problem in problems] == [], "answers fit botocore's shapes"

    by_time = rekognition.get_face_search(JobId=job)["Persons"]
    assert [hit["Timestamp"] for hit in by_time] == sorted(hit["Timestamp"] for hit in found["Persons"])
    assert every_page(rekognition.get_face_search, JobId=job, MaxResults=4, SortBy="INDEX") == found["Persons"]
    assert every_page(rekognition.get_face_search, JobId=job, MaxResults=3) == by_time, "pages by time too"
    strict = rekognition.get_face_search(JobId=job, SortBy="INDEX")["Persons"]
    assert strict == found["Persons"]
    read = AuditEvent.objects.filter(action=AuditEvent.Action.VIDEO_VIEW, object_id=job).first()
    assert read is not None and read.details["via"] == "GetFaceSearch"

    Sighting.objects.filter(video_id=job).update(boxes=[[0.5, 0.1, 0.2, 0.3, 0.4]], details=[])  # as before both
    [early, *_] = rekognition.get_face_search(JobId=job)["Persons"]
    box = {"Width": 0.3, "Height": 0.4, "Left": 0.1, "Top": 0.2}
    assert early["Person"] == {"Index": 0, "BoundingBox": box, "Face": {"BoundingBox": box}}, "no confidence kept"


def every_page(get, **params) -> list:
    """Every page's ``Persons`` or ``Faces``, walked with the ``NextToken`` each page gives."""
    found, token = [], {}
    while True:
        answer = get(**params, **token)
        found += answer.get("Persons", answer.get("Faces"))
        if "NextToken" not in answer:
            return found
        token = {"NextToken": answer["NextToken"]}


def test_a_face_detection_job_finds_and_follows_the_faces_and_identifies_no_one(
    live_server, s3_server, obama_and_biden
):
    s3_server.put_object(Bucket="photos", Key="cameras/door.mp4", Body=video(SCENES))
    checked: list = []
    rekognition = client_for(live_server, UserFactory(role=roles.OPERATOR), checked=checked)
    job = rekognition.start_face_detection(Video=DOOR, ClientRequestToken="d-1", JobTag="door",
                                           FaceAttributes="ALL")["JobId"]  # fmt: skip
    assert rekognition.start_face_detection(Video=DOOR, ClientRequestToken="d-1")["JobId"] == job
    assert rekognition.get_face_detection(JobId=job)["JobStatus"] == "IN_PROGRESS"

    analysed_here(Video.objects.get(pk=job))
    found = rekognition.get_face_detection(JobId=job)
    assert (found["JobStatus"], found["JobTag"]) == ("SUCCEEDED", "door") and "NextToken" not in found
    assert found["Video"] == {"S3Object": {"Bucket": "photos", "Name": "cameras/door.mp4"}}, "the video named"
    times = [hit["Timestamp"] for hit in found["Faces"]]
    assert times == sorted(times) and len(times) >= 10 and max(times) < 6000, "two faces, none in the empty part"
    assert all(50 <= hit["Face"]["Confidence"] <= 100 and 0 < hit["Face"]["BoundingBox"]["Width"] < 1
               for hit in found["Faces"])  # fmt: skip
    for hit in found["Faces"]:  # FaceAttributes ALL: each face at each frame, with its attributes at that frame
        face = hit["Face"]
        assert {"Landmarks", "Pose", "Quality", "AgeRange", "Gender", "Emotions", "Smile"} <= set(face), face.keys()
        assert 0 <= face["AgeRange"]["Low"] <= face["AgeRange"]["High"] <= 100
    assert {hit["Face"]["Gender"]["Value"] for hit in found["Faces"]} == {"Male"}, "Obama, then Biden"
    sightings = Sighting.objects.filter(video_id=job)
    assert sightings.count() == 2, "followed as in any video"
    assert not sightings.exclude(person=None, candidate=None).exists(), "Obama and Biden are enrolled, not searched"
    assert not Face.objects.to_review().exists(), "nothing sent to review"
    assert [problem for _, problems in checked for problem in problems] == [], "answers fit botocore's shapes"
    assert every_page(rekognition.get_face_detection, JobId=job, MaxResults=3) == found["Faces"]

    assert error_code(lambda: rekognition.get_face_search(JobId=job))[0] == "ResourceNotFoundException"
    code, message = error_code(
        lambda: rekognition.start_face_search(Video=DOOR, CollectionId="default", ClientRequestToken="d-1")
    )
    assert code == "IdempotentParameterMismatchException" and "face detection job" in message


def test_face_detection_gives_attributes_only_when_asked_and_refuses_what_it_does_not_know(live_server, s3_server):
    s3_server.put_object(Bucket="photos", Key="cameras/door.mp4", Body=video(SCENES[:1]))
    rekognition = client_for(live_server, UserFactory(role=roles.OPERATOR))
    code, message = error_code(lambda: rekognition.start_face_detection(Video=DOOR, FaceAttributes="SOME"))
    assert code == "ValidationException" and "SOME" in message, message
    assert not Video.objects.exists()

    job = rekognition.start_face_detection(Video=DOOR)["JobId"]  # FaceAttributes DEFAULT
    analysed_here(Video.objects.get(pk=job))
    faces = [hit["Face"] for hit in rekognition.get_face_detection(JobId=job)["Faces"]]
    assert len(faces) >= 5 and all({"Landmarks", "Pose", "Quality"} <= set(face) for face in faces)
    assert not any({"AgeRange", "Gender", "Emotions"} & set(face) for face in faces), "no attributes asked for"


def test_two_starts_with_one_token_at_the_same_moment_make_one_job(live_server, s3_server, media_root):
    s3_server.put_object(Bucket="photos", Key="cameras/door.mp4", Body=video(SCENES[:1]))
    rekognition = client_for(live_server, UserFactory(role=roles.OPERATOR))
    together = threading.Barrier(2)

    def start() -> str:
        together.wait()  # both past the token's look-up before either job is saved, as a client's retry can be
        return rekognition.start_face_search(Video=DOOR, CollectionId="default", ClientRequestToken="t")["JobId"]

    with ThreadPoolExecutor(2) as pool:
        jobs = [future.result() for future in [pool.submit(start) for _ in range(2)]]
    assert jobs[0] == jobs[1] and Video.objects.count() == 1
    assert analysed_here(Video.objects.get()).status == Video.Status.DONE
    stored = [path for path in (media_root / "videos").rglob("*") if path.is_file()]
    assert [path.name for path in stored] == [Video.objects.get().file.name.rsplit("/", 1)[-1]], "read once"


def test_the_worker_reads_the_video_so_the_start_answers_before_it_is_read(live_server, s3_server, settings):
    s3_server.put_object(Bucket="photos", Key="cameras/door.mp4", Body=video(SCENES[:1]))
    rekognition = client_for(live_server, UserFactory(role=roles.OPERATOR))
    job = rekognition.start_face_search(Video=DOOR, CollectionId="default")["JobId"]
    started = Video.objects.get(pk=job)
    assert (started.source_url, started.file.name) == ("s3://photos/cameras/door.mp4", ""), "not read yet"
    assert rekognition.get_face_search(JobId=job)["JobStatus"] == "IN_PROGRESS"

    reachable = settings.REKOGNITION_API_S3
    settings.REKOGNITION_API_S3 = {**reachable, "endpoint_url": f"http://127.0.0.1:{servers.closed_port()}"}
    assert analysed_here(started).status == Video.Status.PENDING, "S3 down: tried again later"
    assert started.fetch_attempts == 1 and rekognition.get_face_search(JobId=job)["JobStatus"] == "IN_PROGRESS"
    settings.REKOGNITION_API_S3 = reachable
    assert analysed_here(started).status == Video.Status.DONE and started.file.name
    assert rekognition.get_face_search(JobId=job)["JobStatus"] == "SUCCEEDED"


def test_a_file_that_is_no_video_or_is_gone_fails_its_job_saying_why(live_server, s3_server):
    s3_server.put_object(Bucket="photos", Key="cameras/door.jpg", Body=(FIXTURES / "obama.jpg").read_bytes())
    s3_server.put_object(Bucket="photos", Key="cameras/door.mp4", Body=video(SCENES[:1]))
    rekognition = client_for(live_server, UserFactory(role=roles.OPERATOR))
    photo = rekognition.start_face_search(Video={"S3Object": {"Bucket": "photos", "Name": "cameras/door.jpg"}},
                                          CollectionId="default")["JobId"]  # fmt: skip
    gone = rekognition.start_face_search(Video=DOOR, CollectionId="default")["JobId"]
    s3_server.delete_object(Bucket="photos", Key="cameras/door.mp4")  # between the start and the worker's read
    for job in (photo, gone):
        analysed_here(Video.objects.get(pk=job))
    failed = rekognition.get_face_search(JobId=photo)
    assert failed["JobStatus"] == "FAILED" and failed["StatusMessage"].startswith("The video in S3 could not be")
    assert "Persons" not in failed
    failed = rekognition.get_face_search(JobId=gone)
    assert failed["JobStatus"] == "FAILED" and "NoSuchKey" in failed["StatusMessage"]
    assert Video.objects.get(pk=gone).fetch_attempts == 1, "a missing object is not tried again"


def test_a_higher_face_match_threshold_leaves_the_faces_without_matches(live_server, s3_server, obama_and_biden):
    s3_server.put_object(Bucket="photos", Key="cameras/door.mp4", Body=video(SCENES[:1]))
    rekognition = client_for(live_server, UserFactory(role=roles.OPERATOR))
    job = rekognition.start_face_search(Video=DOOR, CollectionId="default", FaceMatchThreshold=99.9)["JobId"]
    analysed_here(Video.objects.get(pk=job))
    persons = rekognition.get_face_search(JobId=job)["Persons"]
    assert persons and all(hit["FaceMatches"] == [] for hit in persons), "followed, but no one that sure"


def test_what_cannot_be_searched_is_refused_plainly_and_nothing_is_kept(live_server, s3_server, settings):
    s3_server.put_object(Bucket="photos", Key="cameras/door.mp4", Body=video(SCENES[:1]))
    operator = client_for(live_server, UserFactory(role=roles.OPERATOR))
    start = operator.start_face_search

    code, message = error_code(
        lambda: start(
            Video=DOOR,
            CollectionId="default",
            NotificationChannel={
                "SNSTopicArn": "arn:aws:sns:eu-west-1:000000000000:faces",
                "RoleArn": "arn:aws:iam::000000000000:role/r",
            },
        )
    )
    assert code == "InvalidParameterException" and "poll GetFaceSearch" in message
    assert error_code(lambda: start(Video=DOOR, CollectionId="nowhere"))[0] == "ResourceNotFoundException"
    missing = {"S3Object": {"Bucket": "photos", "Name": "cameras/gone.mp4"}}
    assert error_code(lambda: start(Video=missing, CollectionId="default"))[0] == "InvalidS3ObjectException"
    long_name = {"S3Object": {"Bucket": "photos", "Name": "é" * 500}}  # 1,000 bytes, as S3 takes: 3,000 quoted
    s3_server.put_object(Bucket="photos", Key="é" * 500, Body=video(SCENES[:1]))
    code, message = error_code(lambda: start(Video=long_name, CollectionId="default"))
    assert code == "InvalidParameterException" and "name is too long" in message
    settings.FACESITE_VIDEO_MAX_BYTES = 1000
    code, message = error_code(lambda: start(Video=DOOR, CollectionId="default"))
    assert code == "VideoTooLargeException" and "FACESITE_VIDEO_MAX_BYTES" in message
    assert not Video.objects.exists(), "nothing kept of a refused start"

    reviewer = client_for(live_server, UserFactory(role=roles.REVIEWER))
    assert error_code(lambda: reviewer.start_face_search(Video=DOOR, CollectionId="default"))[0] == (
        "AccessDeniedException"
    )
    unknown = "0b4e7f52-1f8a-4d5e-9c3b-2a6d8e9f0a1b"
    assert error_code(lambda: reviewer.get_face_search(JobId=unknown))[0] == "ResourceNotFoundException"


def test_a_video_that_failed_is_a_failed_job_saying_why(live_server, s3_server):
    s3_server.put_object(Bucket="photos", Key="cameras/door.mp4", Body=video(SCENES[:1]))
    rekognition = client_for(live_server, UserFactory(role=roles.ADMINISTRATOR))
    job = rekognition.start_face_search(Video=DOOR, CollectionId="default")["JobId"]
    video_fail(video_id=job, error="The worker ran out of memory.")
    failed = rekognition.get_face_search(JobId=job)
    assert (failed["JobStatus"], failed["StatusMessage"]) == ("FAILED", "The worker ran out of memory.")
    assert "Persons" not in failed


def test_a_start_counts_as_an_upload_against_the_users_rate(live_server):
    from django.core.cache import cache
    from rest_framework.throttling import UserRateThrottle

    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = {**original, "upload": "1/min"}  # DRF reads the rates at import
    cache.clear()
    try:
        rekognition = client_for(live_server, UserFactory(role=roles.OPERATOR))
        assert error_code(lambda: rekognition.start_face_search(Video=DOOR, CollectionId="nowhere"))[0] == (
            "ResourceNotFoundException"
        )
        again = error_code(lambda: rekognition.start_face_search(Video=DOOR, CollectionId="nowhere"))
        assert again[0] == "ThrottlingException", "the REST API's upload rate: this door is no way around it"
        assert rekognition.list_collections()["CollectionIds"] == ["default"], "checks keep their own rate"
    finally:
        UserRateThrottle.THROTTLE_RATES = original
        cache.clear()
