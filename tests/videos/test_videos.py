"""Videos with the real local engine on videos made from the test photos: what is refused at upload, the
sightings and their times (in one chunk and in many), a broken file, a lost worker, the API and the admin."""

import io
from datetime import timedelta
from ipaddress import ip_network

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from backoffice import roles
from integrations.xml import schema, video_event
from recognition.exceptions import InvalidInput
from recognition.models import AuditEvent, Collection, Face, Image, WatchAlert
from recognition.services.people import person_enroll
from recognition.services.retention import purge_plan, retention_purge
from tests.clips import analysed_here, passing, sound_only, video
from tests.conftest import S3_MEDIA_BUCKET, client_for
from tests.factories import PersonFactory, UserFactory
from tests.images import FIXTURES
from videos import analysis as video_analysis
from videos.analysis import MAX_ATTEMPTS, video_chunk_analyse, video_finish, video_start
from videos.models import Sighting, Video, VideoChunk
from videos.readings import squeezed
from videos.services import AnalysisOptions, VideoRefused, video_delete, video_upload, video_upload_s3, video_upload_url
from videos.sweeper import videos_sweep_stuck

pytestmark = pytest.mark.django_db

EVERY = 0.5  # the default sampling: 2 frames a second
# Obama for 3 s, then Biden for 3 s, then nobody for 3 s.
SCENES = [("obama.jpg", 3.0), ("biden.jpg", 3.0), (None, 3.0)]


def stored(name: str) -> bytes:
    with default_storage.open(name) as file:
        return file.read()


def upload(data: bytes, name: str = "door.mp4") -> Video:
    return video_upload(file=io.BytesIO(data), filename=name)


@pytest.mark.parametrize("chunk_seconds", [60.0, 1.0], ids=["one chunk", "nine chunks"])
def test_each_enrolled_person_is_one_sighting_at_the_right_times(obama_and_biden, settings, chunk_seconds):
    settings.FACESITE_VIDEO_CHUNK_SECONDS = chunk_seconds
    obama, biden = obama_and_biden
    done = analysed_here(upload(video(SCENES)))
    assert done.status == Video.Status.DONE and done.progress == 100, done.error
    assert done.chunks.count() == (1 if chunk_seconds == 60 else 9)
    sightings = list(done.sightings.order_by("first_at"))
    assert [s.person for s in sightings] == [obama, biden]
    truth = [(0.0, 3.0 - EVERY), (3.0, 6.0 - EVERY)]
    for sighting, (first, last) in zip(sightings, truth, strict=True):
        assert abs(sighting.first_at - first) <= EVERY and abs(sighting.last_at - last) <= EVERY
        assert sighting.similarity >= 80 and len(sighting.boxes) >= 5
        assert all(len(seen) == 6 and 50 <= seen[5] <= 100 for seen in sighting.boxes), "each with its confidence"
    assert all(s.last_at < 6.0 for s in sightings), "nobody is seen in the empty part"
    # Each sighting's best frame is kept as an image with its face: reviewed and enrolled like any other.
    frame = sightings[0].frame
    assert frame.source == Image.Source.VIDEO and frame.status == Image.Status.DONE
    assert sightings[0].face.image == frame and sightings[0].face.person == obama


def test_the_retention_purge_removes_old_videos_with_their_frames_and_files(
    obama_and_biden, settings, django_capture_on_commit_callbacks
):
    settings.FACESITE_RETENTION = {**settings.FACESITE_RETENTION, "images": 0, "videos": 30}
    old = analysed_here(upload(video([("obama.jpg", 1.0)])))
    recent = analysed_here(upload(video([("biden.jpg", 1.0)])))
    queued = upload(video([(None, 1.0)]))
    Video.objects.filter(pk__in=[old.pk, queued.pk]).update(created_at=timezone.now() - timedelta(days=31))
    frame = old.sightings.get().frame
    assert default_storage.exists(old.file.name) and purge_plan().counts()["videos"] == 1

    with django_capture_on_commit_callbacks(execute=True):  # files go once the rows' deletion commits
        removed = retention_purge()

    assert removed["videos"] == 1 and removed["images"] == 0
    assert not Video.objects.filter(pk=old.pk).exists() and not default_storage.exists(old.file.name)
    assert not Image.objects.filter(pk=frame.pk).exists(), "the frame kept for its sighting goes with it"
    assert set(Video.objects.values_list("pk", flat=True)) == {recent.pk, queued.pk}, "recent, or not yet analysed"
    assert AuditEvent.objects.filter(action="video.delete", actor=None).count() == 1


def test_an_unknown_face_is_a_sighting_for_the_review_queue(local_engine, settings):
    person_enroll(person=PersonFactory(name="Joe Biden"), data=(FIXTURES / "biden.jpg").read_bytes())
    settings.FACESITE_REVIEW_THRESHOLD = 0.0  # anyone resembling someone goes to review
    done = analysed_here(upload(video([("astronaut.png", 2.0)])))
    sighting = done.sightings.get()
    assert sighting.person is None and sighting.face.review_state == Face.Review.NEEDS_REVIEW
    assert Face.objects.to_review().filter(pk=sighting.face_id).exists()


def test_a_watched_person_raises_an_alert(obama_and_biden):
    obama, _ = obama_and_biden
    obama.watched = True
    obama.save()
    analysed_here(upload(video([("obama.jpg", 2.0)])))
    assert WatchAlert.objects.filter(person=obama, kind=WatchAlert.Kind.PERSON).count() == 1


@pytest.mark.parametrize(
    ("data", "code", "words"),
    [
        (sound_only(), "no_video_stream", "no video stream"),
        (video([("obama.jpg", 1.0)])[:3000], "invalid_video", "truncated"),
        ((FIXTURES / "obama.jpg").read_bytes(), "unsupported_container", "This is a picture, not a video"),
        ((FIXTURES / "astronaut.png").read_bytes(), "unsupported_container", "send pictures as images"),
        (video([(None, 0.5)], container="avi", codec="mpeg4"), "unsupported_container", "AVI"),
        (b"", "empty", "empty"),
    ],
    ids=["sound only", "truncated", "a photo", "a PNG", "an AVI", "empty"],
)
def test_what_is_not_a_usable_video_is_refused_at_upload_with_its_reason(media_root, data, code, words):
    with pytest.raises(VideoRefused) as refused:
        upload(data)
    assert refused.value.code == code and words in refused.value.message
    assert not Video.objects.exists() and not list(media_root.rglob("*.mp4"))


def test_size_and_duration_limits(media_root, settings):
    data = video([(None, 2.0)])
    settings.FACESITE_VIDEO_MAX_BYTES = len(data) - 1
    with pytest.raises(VideoRefused, match="limit is"):
        upload(data)
    settings.FACESITE_VIDEO_MAX_BYTES = len(data)
    settings.FACESITE_VIDEO_MAX_SECONDS = 1.5
    with pytest.raises(VideoRefused, match="lasts 2 s; the limit is 2 s") as refused:
        upload(data)
    assert refused.value.code == "too_long"
    assert not Video.objects.exists()


@pytest.mark.parametrize(
    ("container", "codec", "size", "code", "words"),
    [
        ("mp4", "libx264", (640, 480), "too_many_pixels",
         "The video's pictures are 640×480 pixels, above the limit of 307,199"),  # from the header: none decoded
        # VP9's size is learnt by decoding a picture as FFmpeg first looks at the streams: one a little too large
        # is decoded there (FFmpeg's limit leaves room for alignment) and refused; one far larger stops FFmpeg.
        ("webm", "libvpx-vp9", (640, 480), "too_many_pixels",
         "The video's pictures are 640×480 pixels, above the limit of 307,199"),
        ("webm", "libvpx-vp9", (2048, 1536), "undecodable",
         "No picture of the video could be decoded within the limit of 307,199"),
    ],
)  # fmt: skip
def test_a_video_whose_pictures_are_too_large_is_refused_before_one_is_decoded_past_the_limit(
    media_root, settings, admin_client_api, container, codec, size, code, words
):
    settings.FACESITE_VIDEO_MAX_PIXELS = 640 * 480 - 1
    data = video([(None, 1.0)], size=size, container=container, codec=codec, fps=4)
    answer = admin_client_api.post("/api/videos/", {"file": io.BytesIO(data)}, format="multipart")
    assert answer.status_code == 400 and answer.json()["code"] == code
    assert answer.json()["detail"].startswith(words)
    assert not Video.objects.exists() and not any(media_root.rglob("*.*")), "nothing kept"
    settings.FACESITE_VIDEO_MAX_PIXELS = size[0] * size[1]
    assert upload(data, name=f"door.{container}").width == size[0]


@pytest.mark.parametrize(
    ("grown", "words"),
    [
        ((640, 480), ": its pictures grow to 640×480 pixels, above the limit of 19,200 pixels a picture"),
        # Past the room FFmpeg's own limit leaves for alignment, FFmpeg stops it and can say no more than that.
        ((2048, 1536), " (the file is damaged, or its pictures grow far larger than FACESITE_VIDEO_MAX_PIXELS there)"),
    ],
)
def test_a_stream_whose_pictures_grow_past_the_limit_midway_is_stopped_there(local_engine, settings, grown, words):
    from tests.clips import growing

    settings.FACESITE_VIDEO_MAX_PIXELS = 160 * 120
    data = growing((160, 120), grown)
    uploaded = upload(data, name="camera.mkv")  # its header and first pictures are within the limit
    assert (uploaded.width, uploaded.height) == (160, 120)
    failed = analysed_here(uploaded)
    assert failed.status == Video.Status.FAILED and failed.sightings.count() == 0
    assert failed.error.startswith("The video could not be decoded between 0 s and ") and failed.error.endswith(words)

    settings.FACESITE_VIDEO_MAX_PIXELS = grown[0] * grown[1]  # within the limit, the same stream is analysed through
    assert analysed_here(upload(data, name="camera.mkv")).status == Video.Status.DONE


@pytest.mark.parametrize(("container", "codec"), [("mp4", "libx264"), ("webm", "libvpx-vp9")])
@pytest.mark.parametrize("size", [(160, 120), (854, 480)])
def test_pictures_exactly_at_the_limit_are_taken_whatever_ffmpeg_pads_their_rows_to(media_root, settings, container,
                                                                                      codec, size):  # fmt: skip
    settings.FACESITE_VIDEO_MAX_PIXELS = size[0] * size[1]  # FFmpeg counts 192 × 120 and 896 × 480
    data = video([(None, 0.5)], size=size, fps=4, container=container, codec=codec)
    assert upload(data, name=f"door.{container}").width == size[0]


def test_webm_is_taken_too(local_engine):
    done = analysed_here(upload(video([("obama.jpg", 1.0)], container="webm", codec="libvpx-vp9"), "door.webm"))
    assert done.status == Video.Status.DONE and done.container == "mkv/webm" and done.sightings.count() == 1


def test_a_file_damaged_after_upload_fails_the_video_with_a_clear_message(local_engine):
    uploaded = upload(video([("obama.jpg", 2.0)]))
    whole = stored(uploaded.file.name)
    with open(default_storage.path(uploaded.file.name), "wb") as damaged:
        damaged.write(whole[: len(whole) // 3])
    failed = analysed_here(uploaded)
    assert failed.status == Video.Status.FAILED
    assert failed.error.startswith("The video could not be decoded between 0 s and ")


def test_a_lost_worker_loses_only_its_chunk(local_engine, settings):
    uploaded, chunks = half_analysed(settings)
    # The first chunk's worker was killed mid-way: claimed long ago, never finished.
    long_ago = timezone.now() - timedelta(seconds=settings.FACESITE_VIDEO_STALE_AFTER + 1)
    VideoChunk.objects.filter(pk=chunks[0].pk).update(status="processing", claimed_at=long_ago, attempts=1)
    assert videos_sweep_stuck()["chunks_retaken"] == 1
    assert VideoChunk.objects.get(pk=chunks[0].pk).status == VideoChunk.Status.PENDING
    assert list(VideoChunk.objects.filter(video=uploaded, status="done").values_list("index", flat=True)) == [1, 2]
    video_chunk_analyse(chunk_id=chunks[0].pk)
    video_finish(video_id=str(uploaded.pk))
    uploaded.refresh_from_db()
    assert uploaded.status == Video.Status.DONE and uploaded.sightings.count() == 1
    assert uploaded.sightings.get().first_at == 0.0


def test_a_chunk_that_keeps_killing_its_worker_fails_the_video(local_engine, settings):
    uploaded = upload(video([("obama.jpg", 1.0)]))
    video_start(video_id=str(uploaded.pk))
    long_ago = timezone.now() - timedelta(seconds=settings.FACESITE_VIDEO_STALE_AFTER + 1)
    VideoChunk.objects.filter(video=uploaded).update(status="processing", claimed_at=long_ago, attempts=MAX_ATTEMPTS)
    assert videos_sweep_stuck()["videos_failed"] == 1
    uploaded.refresh_from_db()
    assert uploaded.status == Video.Status.FAILED and "after 3 attempts" in uploaded.error


def test_a_throttled_engine_puts_the_chunk_back_to_try_later_and_the_video_fails_only_after_its_attempts(
    media_root, settings
):
    settings.RECOGNITION_ENGINE = {"BACKEND": "tests.engines.ThrottledFacesEngine", "OPTIONS": {}}
    uploaded = upload(video([("obama.jpg", 1.0)]))
    video_start(video_id=str(uploaded.pk))
    [chunk] = VideoChunk.objects.filter(video=uploaded)
    for attempt in range(1, MAX_ATTEMPTS):
        video_chunk_analyse(chunk_id=chunk.pk)
        chunk.refresh_from_db()
        uploaded.refresh_from_db()
        assert (chunk.status, chunk.attempts, chunk.claim_token) == (VideoChunk.Status.PENDING, attempt, None)
        assert uploaded.status == Video.Status.PROCESSING and uploaded.error == ""
    video_chunk_analyse(chunk_id=chunk.pk)
    uploaded.refresh_from_db()
    assert uploaded.status == Video.Status.FAILED
    assert uploaded.error == "Gave up on 0–60 s after 3 attempts: The engine failed: Rate exceeded"


def test_a_chunk_put_back_by_a_passing_failure_is_analysed_on_its_next_try(local_engine, settings):
    settings.RECOGNITION_ENGINE = {"BACKEND": "tests.engines.ThrottledFacesEngine", "OPTIONS": {}}
    uploaded = upload(video([("obama.jpg", 1.0)]))
    video_start(video_id=str(uploaded.pk))
    [chunk] = VideoChunk.objects.filter(video=uploaded)
    video_chunk_analyse(chunk_id=chunk.pk)
    settings.RECOGNITION_ENGINE = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}  # it passed
    video_chunk_analyse(chunk_id=chunk.pk)
    video_finish(video_id=str(uploaded.pk))
    uploaded.refresh_from_db()
    assert uploaded.status == Video.Status.DONE and uploaded.sightings.count() == 1


def test_the_api_takes_a_video_and_shows_its_progress_and_sightings(obama_and_biden):
    operator = client_for(UserFactory(role=roles.OPERATOR))
    response = operator.post("/api/videos/", {"file": io.BytesIO(video([("obama.jpg", 2.0)]))}, format="multipart")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and body["duration"] == 2.0 and body["container"] == "mp4/mov"
    analysed_here(Video.objects.get(pk=body["id"]))
    detail = operator.get(f"/api/videos/{body['id']}/").json()
    assert detail["status"] == "done" and detail["progress"] == 100
    assert [s["person"]["name"] for s in detail["sightings"]] == ["Barack Obama"]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VIDEO_VIEW, object_id=body["id"]).exists()
    refused = operator.post("/api/videos/", {"file": io.BytesIO(sound_only())}, format="multipart")
    assert refused.status_code == 400 and refused.json()["code"] == "no_video_stream"
    reviewer = client_for(UserFactory(role=roles.REVIEWER))
    assert reviewer.get(f"/api/videos/{body['id']}/").status_code == 200
    assert reviewer.post("/api/videos/", {"url": "https://example.org/a.mp4"}, format="json").status_code == 403


def test_a_video_keeps_each_frames_face_details_when_asked(local_engine):
    operator = client_for(UserFactory(role=roles.OPERATOR))
    clip = video([("obama.jpg", 2.0)])
    refused = operator.post("/api/videos/", {"file": io.BytesIO(clip), "face_details": "most"}, format="multipart")
    assert refused.status_code == 400 and "is not a valid choice" in refused.json()["face_details"][0]
    plain, detailed = (
        operator.post("/api/videos/", {"file": io.BytesIO(clip), **asked}, format="multipart").json()["id"]
        for asked in ({}, {"face_details": "all"})
    )
    assert Video.objects.get(pk=plain).face_details == Video.FaceDetails.NONE, "none unless asked: they weigh"
    for pk in (plain, detailed):
        analysed_here(Video.objects.get(pk=pk))
    [sighting] = operator.get(f"/api/videos/{plain}/").json()["sightings"]
    assert sighting["details"] == [] and len(sighting["boxes"]) >= 3
    body = operator.get(f"/api/videos/{detailed}/").json()
    [sighting] = body["sightings"]
    assert body["face_details"] == "all" and len(sighting["details"]) == len(sighting["boxes"]) >= 3
    for seen, details in zip(sighting["boxes"], sighting["details"], strict=True):
        nose = next(mark for mark in details["landmarks"] if mark[0] == "nose")
        assert seen[1] < nose[1] < seen[1] + seen[3] and seen[2] < nose[2] < seen[2] + seen[4], "that frame's face"
        assert set(details["pose"]) == {"Roll", "Yaw", "Pitch"} and details["attributes"]["Gender"]["Value"] == "Male"


def test_a_video_can_be_labelled_frame_by_frame_and_shows_each_labels_stretches(local_engine):
    operator = client_for(UserFactory(role=roles.OPERATOR))
    clip = video([("dog.jpg", 2.0), (None, 1.0), ("dog.jpg", 1.0), (None, 1.5), ("dog.jpg", 0.5)])
    refused = operator.post("/api/videos/", {"file": io.BytesIO(clip), "features": "sound"}, format="multipart")
    assert refused.status_code == 400 and "features" in refused.json(), refused.content
    sent = operator.post("/api/videos/", {"file": io.BytesIO(clip), "features": "labels,moderation",
                                          "min_confidence": 60}, format="multipart")  # fmt: skip
    assert sent.status_code == 202, sent.content
    done = analysed_here(Video.objects.get(pk=sent.json()["id"]))
    assert done.features == ["labels", "moderation"] and not done.sightings.exists(), "faces were not asked for"
    body = operator.get(f"/api/videos/{done.pk}/").json()
    dogs = [s for s in body["labels"] if s["name"] == "Dog"]
    # Two frames without the dog (2.0 and 2.5 s) do not end its stretch; three (4.0 to 5.0 s) do.
    assert [(s["kind"], s["first_at"], s["frames"]) for s in dogs] == [("label", 0.0, 6), ("label", 5.5, 1)], dogs
    assert dogs[0]["last_at"] == 3.5 and "Pet" in dogs[0]["parents"] and dogs[0]["confidence"] >= 60
    assert all(s["confidence"] >= 60 for s in body["labels"]), "min_confidence"
    assert not [s for s in body["labels"] if s["kind"] == "moderation"], "a dog is safe"
    listed = operator.get("/api/videos/").json()["results"][0]
    assert listed["features"] == ["labels", "moderation"] and "labels" not in listed, "the list stays short"
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, role=roles.OPERATOR))
    page = admin.get(reverse("admin:videos_video_change", args=[done.pk])).content.decode()
    assert "faces not followed, labelled, moderated" in page and 'id="sightings"' not in page
    assert "<td>Dog</td><td>Pet, Canine" in page and 'data-seek="5.5"' in page, "each stretch, to seek to"


def test_a_videos_text_is_read_frame_by_frame_and_its_lines_shown_as_stretches(local_engine):
    operator = client_for(UserFactory(role=roles.OPERATOR))
    clip = video([("scenetext01.jpg", 1.0), (None, 0.5)])
    sent = operator.post("/api/videos/", {"file": io.BytesIO(clip), "features": "text"}, format="multipart")
    assert sent.status_code == 202, sent.content
    done = analysed_here(Video.objects.get(pk=sent.json()["id"]))
    assert done.features == ["text"] and not done.sightings.exists()
    body = operator.get(f"/api/videos/{done.pk}/").json()
    assert {s["kind"] for s in body["labels"]} == {"text"}
    parking = next(s for s in body["labels"] if s["name"] == "PARKING")
    assert (parking["first_at"], parking["last_at"], parking["frames"], parking["parents"]) == (0.0, 0.5, 2, [])
    read = done.labels.filter(kind="text")
    words_alone = {*read.filter(details__type="WORD").values_list("name", flat=True)} - {
        *read.filter(details__type="LINE").values_list("name", flat=True)
    }
    assert words_alone and not words_alone & {s["name"] for s in body["labels"]}, "lines have stretches, words not"
    listed = operator.get(f"/api/videos/{done.pk}/labels/", {"kind": "text"}).json()["results"]
    assert listed == body["labels"]

    lines = read.filter(details__type="LINE")
    floor = sorted(lines.values_list("confidence", flat=True))[lines.count() // 2]  # the median line's
    surer = operator.post("/api/videos/", {"file": io.BytesIO(clip), "features": "text", "min_confidence": floor},
                          format="multipart")  # fmt: skip
    assert surer.status_code == 202, surer.content
    surer_read = analysed_here(Video.objects.get(pk=surer.json()["id"])).labels.filter(kind="text")
    assert min(surer_read.values_list("confidence", flat=True)) >= floor
    kept = {*surer_read.filter(details__type="LINE").values_list("at", "name")}
    every = {*lines.values_list("at", "name")}
    assert kept == {*lines.filter(confidence__gte=floor).values_list("at", "name")} != every, "the surer half"

    document = etree.fromstring(video_event(done, key="text-1"))
    schema().assertValid(document)
    lines = {(label.get("kind"), label.get("name")) for label in document.iter("{urn:facesite:event:1}label")}
    assert ("text", "PARKING") in lines
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, role=roles.OPERATOR))
    page = admin.get(reverse("admin:videos_video_change", args=[done.pk])).content.decode()
    assert "faces not followed, its text read" in page and "<td>text: “PARKING”</td>" in page
    assert "Labels and text: each thing found or line read" in page


def test_a_sign_passing_by_is_one_stretch_for_each_line_however_ocr_misread_it_in_some_frames(local_engine):
    uploaded = video_upload(file=io.BytesIO(passing("scenetext01.jpg")), filename="passing.mp4",
                            options=AnalysisOptions(features=("text",)))  # fmt: skip
    done = analysed_here(uploaded)
    stretches = done.label_segments.filter(kind="text")
    sign = [s for s in stretches if "atalltimes" in s.readings.split("\n")]
    assert [(s.name, s.start, s.end, s.frames) for s in sign] == [("AT ALL TIMES", 0.0, 5.5, 12)], (
        "one stretch through the twelve frames, though OCR read 'AT ALL_TIMES' in three of them when this was written"
    )
    read = done.labels.filter(kind="text", details__type="LINE").values_list("name", flat=True)
    sign_read = {squeezed(name) for name in read if squeezed(name).startswith("atall")}
    assert sign_read == set(sign[0].readings.split("\n")), "each frame keeps its reading; the stretch holds them all"
    for line in ("DOUBLE", "PARKING", "PROHIBITED"):
        assert [(s.start, s.end, s.frames) for s in stretches.filter(name=line)] == [(0.0, 5.5, 12)]


def test_a_videos_features_are_kept_in_one_order_however_they_are_asked_for(media_root):
    operator = client_for(UserFactory(role=roles.OPERATOR))
    sent = operator.post("/api/videos/", {"file": io.BytesIO(video([("dog.jpg", 1.0)])), "features":
                         "moderation,labels,faces"}, format="multipart")  # fmt: skip
    assert sent.status_code == 202, sent.content
    assert sent.json()["features"] == ["faces", "labels", "moderation"]
    assert Video.objects.get(pk=sent.json()["id"]).features == ["faces", "labels", "moderation"]


def test_the_admin_uploads_a_video_for_faces_or_for_what_the_operator_ticks(media_root):
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, role=roles.OPERATOR))
    form = admin.get(reverse("admin:videos_video_add")).content.decode()
    assert 'value="faces" id="id_features_0" checked>' in form, "faces, as before, unless told otherwise"
    clip = video([("dog.jpg", 1.0)])
    collection = Collection.get_default().pk
    for ticked, confidence in ((["faces"], 50), (["labels", "moderation"], 70)):
        page = admin.post(
            reverse("admin:videos_video_add"),
            {"file": io.BytesIO(clip), "collection": collection, "features": ticked, "min_confidence": confidence},
        )
        assert page.status_code == 302, page.content.decode()[-2000:]
        sent = Video.objects.latest("created_at")
        assert (sent.features, sent.min_confidence) == (ticked, confidence)
    refused = admin.post(reverse("admin:videos_video_add"), {"file": io.BytesIO(clip), "collection": collection,
                                                             "min_confidence": 50})  # fmt: skip
    assert refused.status_code == 200 and "This field is required" in refused.content.decode(), "nothing ticked"
    assert Video.objects.count() == 2


@pytest.mark.django_db
def test_the_admin_says_who_sent_a_video_where_it_was_fetched_from_and_whether_it_is_identified():
    from recognition.s3_objects import S3Object

    operator = UserFactory(is_staff=True, role=roles.OPERATOR, username="door-script")
    fetched = video_upload_s3(
        source=S3Object("cameras", "door/7 Dec.mp4"), uploaded_by=operator, options=AnalysisOptions(identify=False)
    )
    admin = Client()
    admin.force_login(operator)
    html = admin.get(reverse("admin:videos_video_change", args=[fetched.pk])).content.decode()
    assert "by door-script, fetched from <code>s3://cameras/door/7%20Dec.mp4</code>" in html
    assert "faces found and followed, not identified" in html, "StartFaceDetection's: searched among no one"
    Video.objects.filter(pk=fetched.pk).update(face_details=Video.FaceDetails.ALL)
    html = admin.get(reverse("admin:videos_video_change", args=[fetched.pk])).content.decode()
    assert "each frame's faces kept with landmarks, pose, quality and attributes." in html
    assert client_for(operator).get(f"/api/videos/{fetched.pk}/").json()["identify"] is False, "and the API's"


def test_the_admin_plays_the_video_seeks_by_range_and_shows_sightings_on_the_timeline(obama_and_biden):
    done = analysed_here(upload(video(SCENES)))
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, role=roles.OPERATOR))
    page = admin.get(reverse("admin:videos_video_change", args=[done.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and '<video id="video-player"' in html
    assert html.count('class="sighting') == 2 and 'data-seek="3.0"' in html and "Barack Obama" in html
    assert html.count('width="56" height="56" loading="lazy"') == 2, "crops load as they scroll into view"
    size = done.size_bytes
    part = admin.get(reverse("admin:videos_video_file", args=[done.pk]), HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 100-199/{size}"
    assert b"".join(part.streaming_content) == stored(done.file.name)[100:200]
    outside = admin.get(reverse("admin:videos_video_file", args=[done.pk]), HTTP_RANGE=f"bytes={size}-")
    assert outside.status_code == 416
    assert Sighting.objects.filter(video=done).count() == 2
    done.file.storage.delete(done.file.name)  # gone from storage: a 404, not a 500
    assert admin.get(reverse("admin:videos_video_file", args=[done.pk])).status_code == 404


def test_on_s3_a_video_gone_from_the_bucket_answers_404(s3_media):
    stored_video = upload(video(SCENES))
    assert s3_media.list_objects_v2(Bucket=S3_MEDIA_BUCKET)["KeyCount"] == 1
    stored_video.file.storage.delete(stored_video.file.name)
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, role=roles.OPERATOR))
    gone = admin.get(reverse("admin:videos_video_file", args=[stored_video.pk]), HTTP_RANGE="bytes=0-99")
    assert gone.status_code == 404


def test_erasing_a_person_takes_them_out_of_every_sighting(obama_and_biden):
    from recognition.services.erasure import person_erase

    obama, _ = obama_and_biden
    done = analysed_here(
        video_upload(file=io.BytesIO(video([("obama.jpg", 1.5)])), options=AnalysisOptions(face_details="all"))
    )
    sighting = done.sightings.get()
    assert sighting.person == obama and len(sighting.details) == len(sighting.boxes) >= 2
    person_erase(person=obama)
    sighting.refresh_from_db()
    assert sighting.person is None and sighting.candidate is None
    assert sighting.details == [] and len(sighting.boxes) >= 2, "where the face was stays; what it was like goes"


def test_keyframes_only_finds_the_same_people_where_keyframes_are_as_dense_as_the_sampling(obama_and_biden, settings):
    settings.FACESITE_VIDEO_KEYFRAMES_ONLY = True
    obama, biden = obama_and_biden
    done = analysed_here(upload(video(SCENES, keyframe_every=5)))  # a keyframe every 0.5 s at 10 frames/s
    assert done.keyframes_only and done.status == Video.Status.DONE
    sightings = list(done.sightings.order_by("first_at"))
    assert [(s.person, s.first_at) for s in sightings] == [(obama, 0.0), (biden, 3.0)]
    assert abs(sightings[1].last_at - (6.0 - EVERY)) <= EVERY


def test_a_video_url_is_fetched_by_the_worker_checked_and_analysed(obama_and_biden, image_server, settings):
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = [ip_network("127.0.0.0/8")]
    obama, _ = obama_and_biden
    image_server.body = video([("obama.jpg", 1.5)])
    done = analysed_here(video_upload_url(url=image_server.url_for("door.jpg")))
    assert done.status == Video.Status.DONE and done.size_bytes == len(image_server.body)
    assert done.sightings.get().person == obama
    page = analysed_here(video_upload_url(url=image_server.url_for("index.html")))
    assert page.status == Video.Status.FAILED
    assert page.error.startswith("The video at the URL could not be taken: This is ")
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = []
    with pytest.raises(InvalidInput, match="Refusing to fetch"):
        video_upload_url(url=image_server.url_for("door.jpg"))


def test_a_video_url_whose_server_is_down_for_a_while_is_fetched_on_a_later_try(
    obama_and_biden, image_server, settings, django_capture_on_commit_callbacks
):
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = [ip_network("127.0.0.0/8")]
    image_server.body = video([("obama.jpg", 1.5)])
    image_server.unavailable_for = 1
    uploaded = video_upload_url(url=image_server.url_for("door.jpg"))
    with django_capture_on_commit_callbacks() as queued:
        video_start(video_id=str(uploaded.pk))
    uploaded.refresh_from_db()
    assert uploaded.status == Video.Status.PENDING and len(queued) == 1, "back in the queue for a later try"
    assert uploaded.error == "Will try again: The video at the URL could not be taken: The server answered HTTP 503."
    done = analysed_here(uploaded)
    assert (done.status, done.error, done.fetch_attempts) == (Video.Status.DONE, "", 2)
    assert done.sightings.get().person == obama_and_biden[0]


def test_a_video_url_whose_server_stays_down_fails_after_its_tries(image_server, settings):
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = [ip_network("127.0.0.0/8")]
    image_server.unavailable_for = MAX_ATTEMPTS
    uploaded = video_upload_url(url=image_server.url_for("door.jpg"))
    for _ in range(MAX_ATTEMPTS):
        video_start(video_id=str(uploaded.pk))
    uploaded.refresh_from_db()
    assert uploaded.status == Video.Status.FAILED
    assert uploaded.error == (
        f"Gave up after {MAX_ATTEMPTS} tries: The video at the URL could not be taken: The server answered HTTP 503."
    )


def test_a_start_that_died_before_planning_is_started_again(local_engine, settings):
    uploaded = upload(video([("obama.jpg", 1.0)]))
    long_ago = timezone.now() - timedelta(seconds=settings.FACESITE_VIDEO_STALE_AFTER + 1)
    Video.objects.filter(pk=uploaded.pk).update(status=Video.Status.PROCESSING, updated_at=long_ago)  # no chunks
    assert videos_sweep_stuck()["videos_restarted"] == 1
    assert analysed_here(uploaded).status == Video.Status.DONE


def frames_stored(video_id) -> list[str]:
    """The best frames the video's chunks keep in storage while it is analysed."""
    if not default_storage.exists(f"videos/frames/{video_id}"):
        return []
    return sorted(default_storage.listdir(f"videos/frames/{video_id}")[1])


def half_analysed(settings) -> tuple[Video, list[VideoChunk]]:
    """A video of three one-second chunks with Obama in each, the last two analysed (their frames kept)."""
    settings.FACESITE_VIDEO_CHUNK_SECONDS = 1.0
    uploaded = upload(video([("obama.jpg", 3.0)]))
    video_start(video_id=str(uploaded.pk))
    chunks = list(VideoChunk.objects.filter(video=uploaded))
    for chunk in chunks[1:]:
        video_chunk_analyse(chunk_id=chunk.pk)
    assert len(frames_stored(uploaded.pk)) == 2
    return uploaded, chunks


def test_a_failed_video_keeps_none_of_its_chunks_frames(local_engine, settings, django_capture_on_commit_callbacks):
    uploaded, chunks = half_analysed(settings)
    long_ago = timezone.now() - timedelta(seconds=settings.FACESITE_VIDEO_STALE_AFTER + 1)
    VideoChunk.objects.filter(pk=chunks[0].pk).update(status="processing", claimed_at=long_ago, attempts=MAX_ATTEMPTS)
    with django_capture_on_commit_callbacks(execute=True):
        assert videos_sweep_stuck()["videos_failed"] == 1
    uploaded.refresh_from_db()
    assert uploaded.status == Video.Status.FAILED
    assert frames_stored(uploaded.pk) == [], "no face is kept for a video that will never be finished"
    assert VideoChunk.objects.filter(video=uploaded).frame_keys() == []


def test_deleting_a_video_being_analysed_deletes_its_chunks_frames(
    local_engine, settings, django_capture_on_commit_callbacks
):
    uploaded, _ = half_analysed(settings)
    video_id, file_name = uploaded.pk, uploaded.file.name
    with django_capture_on_commit_callbacks(execute=True):
        video_delete(video=uploaded)
    assert frames_stored(video_id) == [] and not default_storage.exists(file_name)


@pytest.mark.parametrize("meanwhile", ["failed", "deleted", "retaken"])
def test_a_chunk_finishing_after_its_video_failed_or_went_or_it_was_retaken_drops_its_frames(
    local_engine, settings, django_capture_on_commit_callbacks, monkeypatch, meanwhile
):
    uploaded, chunks = half_analysed(settings)
    video_id = uploaded.pk
    # The first chunk's worker is slow: while it analyses, the video fails, is deleted, or the chunk is retaken.
    slow = chunks[0]
    real = video_analysis._analyse_chunk

    def and_meanwhile(video_: Video, chunk: VideoChunk):
        result = real(video_, chunk)
        if meanwhile == "failed":
            video_analysis.video_fail(video_id=str(video_.pk), error="Another chunk could not be decoded")
        elif meanwhile == "deleted":
            video_delete(video=video_)
        else:
            VideoChunk.objects.filter(pk=chunk.pk).update(claim_token=None, status="pending")
        return result

    monkeypatch.setattr(video_analysis, "_analyse_chunk", and_meanwhile)
    with django_capture_on_commit_callbacks(execute=True):
        video_chunk_analyse(chunk_id=slow.pk)
    left = frames_stored(video_id)
    if meanwhile == "retaken":  # the two finished chunks keep theirs; the retaking task will store its own
        assert len(left) == 2 and not any(name.startswith("0-") for name in left)
        assert VideoChunk.objects.get(pk=slow.pk).status == VideoChunk.Status.PENDING
    else:
        assert left == [], f"a video {meanwhile} keeps no frame of a chunk that finished late"
