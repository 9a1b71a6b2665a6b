"""StartLabelDetection and GetLabelDetection, StartContentModeration and GetContentModeration through boto3: a
video read from a real S3-compatible server on loopback, each sampled frame classified by the real local
engine (the video tasks run here), every answer walked against botocore's output shapes."""

import pytest
from botocore.exceptions import ClientError

from recognition.models import AuditEvent
from tests.clips import analysed_here, video
from videos.models import Sighting, Video, VideoLabel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("video_jobs")]

# A dog for 2 s, then Obama for 2 s, then nothing for 2 s; sampled twice a second.
SCENES = [("dog.jpg", 2.0), ("obama.jpg", 2.0), (None, 2.0)]
CLIP = {"S3Object": {"Bucket": "photos", "Name": "clips/yard.mp4"}}


@pytest.fixture
def rekognition(operator_rekognition, s3_server):
    s3_server.put_object(Bucket="photos", Key="clips/yard.mp4", Body=video(SCENES))
    return operator_rekognition


def test_each_frames_labels_are_found_by_time_and_as_segments(rekognition):
    job = rekognition.start_label_detection(Video=CLIP, JobTag="yard", ClientRequestToken="l-1")["JobId"]
    assert rekognition.start_label_detection(Video=CLIP, ClientRequestToken="l-1")["JobId"] == job
    waiting = rekognition.get_label_detection(JobId=job)
    assert waiting["JobStatus"] == "IN_PROGRESS" and "Labels" not in waiting

    analysed_here(Video.objects.get(pk=job))
    assert not Sighting.objects.filter(video_id=job).exists(), "labels only: no faces followed"
    found = rekognition.get_label_detection(JobId=job)
    assert (found["JobStatus"], found["JobTag"]) == ("SUCCEEDED", "yard") and found["LabelModelVersion"]
    assert found["GetRequestMetadata"] == {"SortBy": "TIMESTAMP", "AggregateBy": "TIMESTAMPS"}
    times = {hit["Label"]["Name"]: [] for hit in found["Labels"]}
    for hit in found["Labels"]:
        times[hit["Label"]["Name"]].append(hit["Timestamp"])
        assert hit["Label"]["Confidence"] >= 50, "MinConfidence 50 by default"
    assert len(times["Dog"]) >= 3 and max(times["Dog"]) < 2000, "the dog, in its two seconds"
    assert times["Person"] and all(2000 <= at < 4000 for at in times["Person"]), "Obama, in his two seconds"
    face = next(hit["Label"] for hit in found["Labels"] if hit["Label"]["Name"] == "Face")
    assert [box["BoundingBox"]["Width"] > 0 for box in face["Instances"]] == [True], "his face's box"
    assert {"Name": "Person"} in face["Parents"]
    assert not any(hit["Timestamp"] >= 4000 for hit in found["Labels"]), "nothing in the empty part"
    dog = next(hit["Label"] for hit in found["Labels"] if hit["Label"]["Name"] == "Dog")
    assert {"Name": "Pet"} in dog["Parents"], "as DetectLabels gives it"
    stamps = [hit["Timestamp"] for hit in found["Labels"]]
    assert stamps == sorted(stamps)

    by_segment = rekognition.get_label_detection(JobId=job, AggregateBy="SEGMENTS", SortBy="NAME")
    [dog_stretch] = [s for s in by_segment["Labels"] if s["Label"]["Name"] == "Dog"]
    assert dog_stretch["StartTimestampMillis"] == min(times["Dog"]) == dog_stretch["Timestamp"]
    assert dog_stretch["EndTimestampMillis"] == max(times["Dog"])
    assert dog_stretch["DurationMillis"] == max(times["Dog"]) - min(times["Dog"])
    names = [s["Label"]["Name"] for s in by_segment["Labels"]]
    assert names == sorted(names) and len(names) == len(times), "one stretch each: each is seen without a gap"

    first = rekognition.get_label_detection(JobId=job, MaxResults=4)
    rest = rekognition.get_label_detection(JobId=job, NextToken=first["NextToken"])
    assert first["Labels"] + rest["Labels"] == found["Labels"]
    read = AuditEvent.objects.filter(action=AuditEvent.Action.VIDEO_VIEW, object_id=job).first()
    assert read is not None and read.details["via"] == "GetLabelDetection"


def test_label_filters_and_min_confidence_are_those_of_detect_labels(rekognition):
    job = rekognition.start_label_detection(
        Video=CLIP, MinConfidence=70, Settings={"GeneralLabels": {"LabelInclusionFilters": ["Dog", "Pet"]}}
    )["JobId"]
    analysed_here(Video.objects.get(pk=job))
    labels = rekognition.get_label_detection(JobId=job)["Labels"]
    assert {hit["Label"]["Name"] for hit in labels} == {"Dog", "Pet"}
    assert all(hit["Label"]["Confidence"] >= 70 for hit in labels)
    assert not VideoLabel.objects.filter(video_id=job, confidence__lt=70).exists(), "kept at the job's minimum"


def test_category_filters_pick_labels_as_detect_labels_does_a_page_at_a_time(rekognition):
    people = {"GeneralLabels": {"LabelCategoryInclusionFilters": ["Person Description"]}}
    job = rekognition.start_label_detection(Video=CLIP, Settings=people)["JobId"]
    no_animals = {"GeneralLabels": {"LabelCategoryExclusionFilters": ["Animals and Pets"]}}
    other = rekognition.start_label_detection(Video=CLIP, Settings=no_animals)["JobId"]
    for started in (job, other):
        analysed_here(Video.objects.get(pk=started))

    hits, token = [], {}
    while True:  # one a page: each page is full until the last
        answer = rekognition.get_label_detection(JobId=job, MaxResults=1, **token)
        hits += answer["Labels"]
        if "NextToken" not in answer:
            break
        assert len(answer["Labels"]) == 1
        token = {"NextToken": answer["NextToken"]}
    assert {hit["Label"]["Name"] for hit in hits} == {"Person", "Face"}
    assert all(2000 <= hit["Timestamp"] < 4000 for hit in hits), "Obama's two seconds"
    assert len(hits) == len(rekognition.get_label_detection(JobId=job)["Labels"]), "the same as one read"

    kept = rekognition.get_label_detection(JobId=other, AggregateBy="SEGMENTS")["Labels"]
    assert "Person" in {hit["Label"]["Name"] for hit in kept}
    assert not [hit for hit in kept if {"Name": "Animals and Pets"} in hit["Label"]["Categories"]]
    assert "Dog" not in {hit["Label"]["Name"] for hit in kept}


def test_content_moderation_answers_each_frames_moderation_labels(rekognition):
    safe = rekognition.start_content_moderation(Video=CLIP)["JobId"]
    every = rekognition.start_content_moderation(Video=CLIP, MinConfidence=0)["JobId"]
    for job in (safe, every):
        analysed_here(Video.objects.get(pk=job))
    answer = rekognition.get_content_moderation(JobId=safe)
    assert answer["JobStatus"] == "SUCCEEDED" and answer["ModerationLabels"] == [], "a dog and a face are safe"
    assert answer["ModerationModelVersion"]
    labels = rekognition.get_content_moderation(JobId=every)["ModerationLabels"]
    assert len({hit["Timestamp"] for hit in labels}) >= 10, "at MinConfidence 0, every sampled frame has some"
    assert all(0 <= hit["ModerationLabel"]["Confidence"] < 50 and hit["ModerationLabel"]["TaxonomyLevel"] >= 1
               for hit in labels)  # fmt: skip
    stretches = rekognition.get_content_moderation(JobId=every, AggregateBy="SEGMENTS")["ModerationLabels"]
    assert stretches and all(s["DurationMillis"] >= 4500 for s in stretches), "seen in every frame: one stretch"


def test_a_job_is_read_only_as_its_kind_and_its_token_starts_one_kind(rekognition):
    job = rekognition.start_content_moderation(Video=CLIP, ClientRequestToken="m-1")["JobId"]
    with pytest.raises(ClientError) as wrong_kind:
        rekognition.get_label_detection(JobId=job)
    assert wrong_kind.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as reused:
        rekognition.start_label_detection(Video=CLIP, ClientRequestToken="m-1")
    assert reused.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert Video.objects.get(pk=job).features == ["moderation"]
