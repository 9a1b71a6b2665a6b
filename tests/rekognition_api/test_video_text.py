"""StartTextDetection and GetTextDetection through boto3: a video read from a real S3-compatible server on
loopback, each sampled frame read by the real local engine's OCR (the video tasks run here), every answer walked
against botocore's output shapes."""

import pytest
from botocore.exceptions import ClientError

from recognition.engines.base import BoundingBox
from recognition.models import AuditEvent
from rekognition_api.operations.regions import in_regions
from tests.clips import analysed_here, video
from videos.models import Video, VideoLabel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("video_jobs")]

# A parking sign for 1 s, then a dog for 1 s; sampled twice a second.
SCENES = [("scenetext01.jpg", 1.0), ("dog.jpg", 1.0)]
CLIP = {"S3Object": {"Bucket": "photos", "Name": "clips/street.mp4"}}


@pytest.fixture
def rekognition(operator_rekognition, s3_server):
    s3_server.put_object(Bucket="photos", Key="clips/street.mp4", Body=video(SCENES))
    return operator_rekognition


def box_of(found: dict) -> BoundingBox:
    return BoundingBox(**{key.lower(): value for key, value in found["Geometry"]["BoundingBox"].items()})


def test_each_frames_lines_and_words_are_read_by_time_a_page_at_a_time(rekognition):
    job = rekognition.start_text_detection(Video=CLIP, JobTag="street", ClientRequestToken="t-1")["JobId"]
    assert rekognition.start_text_detection(Video=CLIP, ClientRequestToken="t-1")["JobId"] == job
    waiting = rekognition.get_text_detection(JobId=job)
    assert waiting["JobStatus"] == "IN_PROGRESS" and "TextDetections" not in waiting

    analysed = analysed_here(Video.objects.get(pk=job))
    assert analysed.features == ["text"] and not analysed.sightings.exists()
    found = rekognition.get_text_detection(JobId=job)
    assert (found["JobStatus"], found["JobTag"]) == ("SUCCEEDED", "street") and found["TextModelVersion"]
    assert found["VideoMetadata"]["DurationMillis"] == 2000
    hits = found["TextDetections"]
    stamps = [hit["Timestamp"] for hit in hits]
    assert stamps == sorted(stamps) and set(stamps) == {0, 500}, "the sign's two frames; the dog has no text"
    for at in (0, 500):
        frame = [hit["TextDetection"] for hit in hits if hit["Timestamp"] == at]
        lines = {text["Id"]: text for text in frame if text["Type"] == "LINE"}
        assert "PARKING" in {line["DetectedText"] for line in lines.values()}
        words = [text for text in frame if text["Type"] == "WORD"]
        assert words and all(lines[word["ParentId"]]["DetectedText"].split().count(word["DetectedText"]) >= 1
                             for word in words), "each word is in its line, numbered within its frame"  # fmt: skip
        assert all(0 < text["Geometry"]["BoundingBox"]["Width"] <= 1 and len(text["Geometry"]["Polygon"]) == 4
                   for text in frame)  # fmt: skip

    first = rekognition.get_text_detection(JobId=job, MaxResults=3)
    assert len(first["TextDetections"]) == 3
    rest = rekognition.get_text_detection(JobId=job, NextToken=first["NextToken"])
    assert first["TextDetections"] + rest["TextDetections"] == hits and "NextToken" not in rest
    read = AuditEvent.objects.filter(action=AuditEvent.Action.VIDEO_VIEW, object_id=job).first()
    assert read is not None and read.details["via"] == "GetTextDetection"
    with pytest.raises(ClientError) as wrong_kind:
        rekognition.get_label_detection(JobId=job)
    assert wrong_kind.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_filters_keep_what_detect_text_would_and_the_video_keeps_everything(rekognition):
    everything = rekognition.start_text_detection(Video=CLIP)["JobId"]
    analysed_here(Video.objects.get(pk=everything))
    hits = rekognition.get_text_detection(JobId=everything)["TextDetections"]
    texts = [hit["TextDetection"] for hit in hits]
    line = next(text for text in texts if text["Type"] == "LINE" and " " in text["DetectedText"])
    region = {"BoundingBox": {key: line["Geometry"]["BoundingBox"][key] for key in ("Left", "Top", "Width", "Height")}}
    tall = max(text["Geometry"]["BoundingBox"]["Height"] for text in texts if text["Type"] == "WORD") + 0.01
    filters = {"WordFilter": {"MinBoundingBoxHeight": tall}, "RegionsOfInterest": [region]}
    job = rekognition.start_text_detection(Video=CLIP, Filters=filters)["JobId"]
    analysed_here(Video.objects.get(pk=job))

    kept = [hit["TextDetection"] for hit in rekognition.get_text_detection(JobId=job)["TextDetections"]]
    assert kept and all(text["Type"] == "LINE" for text in kept), "no word is as tall as the filter asks"
    assert all(in_regions(box_of(text), [region]) for text in kept), "only lines more than half in the region"
    assert line["DetectedText"] in [text["DetectedText"] for text in kept]
    assert len(kept) < len([text for text in texts if text["Type"] == "LINE"]), "the other lines are elsewhere"
    stored = VideoLabel.objects.filter(video_id=job, kind=VideoLabel.Kind.TEXT)
    assert stored.count() == len(hits), "filters apply as results are read: the video keeps all it read"

    paged, token = [], {}
    while True:  # one a page through the filter: each page full until the last
        answer = rekognition.get_text_detection(JobId=job, MaxResults=1, **token)
        paged += [hit["TextDetection"] for hit in answer["TextDetections"]]
        if "NextToken" not in answer:
            break
        assert len(answer["TextDetections"]) == 1
        token = {"NextToken": answer["NextToken"]}
    assert paged == kept


def test_a_notification_channel_is_refused_saying_to_poll(rekognition):
    sns = {"SNSTopicArn": "arn:aws:sns:eu-west-1:000000000000:text", "RoleArn": "arn:aws:iam::000000000000:role/r"}
    with pytest.raises(ClientError) as refused:
        rekognition.start_text_detection(Video=CLIP, NotificationChannel=sns)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "poll GetTextDetection" in refused.value.response["Error"]["Message"]
    assert not Video.objects.exists()
