"""A video's sightings and label stretches a page at a time (``/api/videos/{id}/sightings/`` and ``labels/``):
as the video's answer holds them, filtered by person, kind, name and time, and the reading audited; and its
labels and text frame by frame with their boxes (``frame-labels/``)."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from backoffice import roles
from recognition.engines.base import Analysis, BoundingBox, Label, LabelInstance, TextDetection
from recognition.models import AuditEvent, Collection
from tests.conftest import client_for
from tests.factories import PersonFactory, UserFactory
from videos.labels import frame_labels, frame_values, labels_record
from videos.models import Sighting, Video, VideoLabel

pytestmark = pytest.mark.django_db
LABEL, MODERATION, TEXT = VideoLabel.Kind.LABEL, VideoLabel.Kind.MODERATION, VideoLabel.Kind.TEXT


@pytest.fixture
def video():
    """Ada at 0–4 s and 30–31 s, someone not enrolled at 10–20 s; a dog at 0–1 s and 12 s, a car at 5 s, unsafe
    content at 20 s. Another video's sighting and dog, never listed."""
    collection = Collection.get_default()
    made, other = (Video.objects.create(collection=collection, sample_rate=2.0, chunk_seconds=10, status="done")
                   for _ in range(2))  # fmt: skip
    ada = PersonFactory(name="Ada Lovelace")
    for first, last, who in [(30, 31, ada), (0, 4, ada), (10, 20, None)]:
        Sighting.objects.create(video=made, person=who, first_at=first, last_at=last, best_at=first,
                                boxes=[[first, 0.1, 0.1, 0.2, 0.2, 99.0]])  # fmt: skip
    Sighting.objects.create(video=other, person=ada, first_at=0, last_at=1, best_at=0)
    dog = {"parents": ["Pet", "Animal"]}
    labels_record(made, [[0.0, LABEL, "Dog", 90.0, dog], [0.5, LABEL, "Dog", 95.0, dog], [5.0, LABEL, "Car", 70.0, {}],
                         [12.0, LABEL, "Dog", 60.0, dog],
                         [20.0, MODERATION, "Explicit", 55.0, {"parent_name": "", "taxonomy_level": 1}]])  # fmt: skip
    labels_record(other, [[0.0, LABEL, "Dog", 90.0, dog]])
    return made


def test_a_videos_summary_is_its_answer_without_its_results_for_polling(video, django_assert_max_num_queries):
    viewer = client_for(UserFactory(role=roles.REVIEWER))
    whole = viewer.get(f"/api/videos/{video.pk}/").json()
    with django_assert_max_num_queries(8) as queries:
        answer = viewer.get(f"/api/videos/{video.pk}/summary/")
    assert answer.status_code == 200, answer.content
    read = " ".join(query["sql"] for query in queries.captured_queries)
    assert "videos_sighting" not in read and "videos_videolabelsegment" not in read, "its results are not read"
    summary = answer.json()
    assert "sightings" not in summary and "labels" not in summary
    assert summary == {key: value for key, value in whole.items() if key not in ("sightings", "labels")}
    assert summary == viewer.get("/api/videos/").json()["results"][1], "as the list shows it"
    view = AuditEvent.objects.get(action=AuditEvent.Action.VIDEO_VIEW, object_id=str(video.pk))
    assert view.repeats == 2, "a view of the video, as its whole answer is (polling counts on one row)"

    assert viewer.get(f"/api/videos/{video.pk}/summary/", {"page": 2}).status_code == 400, "nothing to page"
    assert viewer.get("/api/videos/00000000-0000-0000-0000-000000000000/summary/").status_code == 404
    assert client_for(UserFactory()).get(f"/api/videos/{video.pk}/summary/").status_code == 403


def test_a_videos_sightings_are_paged_by_time_and_filtered_by_person_and_time(video):
    viewer = client_for(UserFactory(role=roles.REVIEWER))
    url = f"/api/videos/{video.pk}/sightings/"

    def seen(**query) -> list[tuple[float, str | None]]:
        answer = viewer.get(url, query)
        assert answer.status_code == 200, answer.content
        return [(s["first_at"], (s["person"] or {}).get("name")) for s in answer.json()["results"]]

    whole = viewer.get(f"/api/videos/{video.pk}/").json()["sightings"]
    assert viewer.get(url).json()["results"] == whole, "as the video's answer holds them"
    assert seen() == [(0, "Ada Lovelace"), (10, None), (30, "Ada Lovelace")]
    ada = Sighting.objects.filter(video=video).exclude(person=None).first().person
    assert seen(person=str(ada.pk)) == [(0, "Ada Lovelace"), (30, "Ada Lovelace")]
    assert seen(identified="false") == [(10, None)]
    assert seen(identified="no") == seen(identified="0") == [(10, None)]
    assert seen(identified="yes") == seen(identified="1") == [(0, "Ada Lovelace"), (30, "Ada Lovelace")]
    assert viewer.get(url, {"identified": "maybe"}).status_code == 400, "not every sighting, as if not asked"
    assert seen(from_seconds=4, to_seconds=10) == [(0, "Ada Lovelace"), (10, None)], "in view at some time in 4–10 s"
    assert seen(from_seconds=20.5) == [(30, "Ada Lovelace")]
    first_page = viewer.get(url, {"page_size": 2}).json()
    assert first_page["count"] == 3 and len(first_page["results"]) == 2 and first_page["next"]

    assert viewer.get(url, {"from_seconds": "soon"}).status_code == 400
    assert viewer.get(url, {"seen_after": "2026-01-01"}).status_code == 400, "a camera's filter, not a video's"
    assert viewer.get("/api/videos/00000000-0000-0000-0000-000000000000/sightings/").status_code == 404
    assert viewer.get("/api/videos/door/sightings/", {"identified": "true"}).status_code == 404
    assert client_for(UserFactory()).get(url).status_code == 403, "no role, no sightings"
    audited = AuditEvent.objects.filter(action=AuditEvent.Action.VIDEO_VIEW, object_id=str(video.pk))
    assert audited.filter(details__query="identified=false").exists(), "who looked for whom is recorded"


def test_a_videos_label_stretches_are_paged_by_time_and_filtered_by_kind_name_and_time(video):
    viewer = client_for(UserFactory(role=roles.REVIEWER))
    url = f"/api/videos/{video.pk}/labels/"

    def found(**query) -> list[tuple[str, float, float]]:
        answer = viewer.get(url, query)
        assert answer.status_code == 200, answer.content
        return [(s["name"], s["first_at"], s["last_at"]) for s in answer.json()["results"]]

    whole = viewer.get(f"/api/videos/{video.pk}/").json()["labels"]
    assert viewer.get(url).json()["results"] == whole, "as the video's answer holds them"
    assert found() == [("Dog", 0.0, 0.5), ("Car", 5.0, 5.0), ("Dog", 12.0, 12.0), ("Explicit", 20.0, 20.0)]
    assert whole[0] == {"kind": "label", "name": "Dog", "parents": ["Pet", "Animal"], "first_at": 0.0, "last_at": 0.5,
                        "frames": 2, "confidence": 95.0}  # fmt: skip
    assert found(kind="moderation") == [("Explicit", 20.0, 20.0)]
    assert found(name="dog") == [("Dog", 0.0, 0.5), ("Dog", 12.0, 12.0)], "any case"
    assert found(from_seconds=0.5, to_seconds=12) == [("Dog", 0.0, 0.5), ("Car", 5.0, 5.0), ("Dog", 12.0, 12.0)]
    assert viewer.get(url, {"page_size": 3}).json()["next"]

    assert viewer.get(url, {"kind": "face"}).status_code == 400
    assert viewer.get("/api/videos/00000000-0000-0000-0000-000000000000/labels/").status_code == 404
    assert viewer.get("/api/videos/0/labels/", {"kind": "label"}).status_code == 404
    assert client_for(UserFactory()).get(url).status_code == 403


def test_a_videos_labels_and_text_frame_by_frame_say_where_each_is_in_its_frame(video):
    box = BoundingBox(0.4, 0.7, 0.2, 0.05)
    corners = ((0.4, 0.7), (0.6, 0.7), (0.6, 0.75), (0.4, 0.75))
    plate = [TextDetection("AB 123", "LINE", 91.0, box, id=0, polygon=corners),
             TextDetection("AB", "WORD", 90.0, box, id=1, parent_id=0, polygon=corners)]  # fmt: skip
    car = Label("Car", 88.0, instances=(LabelInstance(BoundingBox(0.3, 0.5, 0.4, 0.4), 87.5),))
    labels_record(video, [*frame_labels(Analysis(labels=[car], text=plate), at=40.0),
                          *frame_labels(Analysis(text=plate[:1]), at=40.5)])  # fmt: skip
    viewer = client_for(UserFactory(role=roles.REVIEWER))
    url = f"/api/videos/{video.pk}/frame-labels/"

    def found(**query) -> list[tuple]:
        answer = viewer.get(url, query)
        assert answer.status_code == 200, answer.content
        return [(f["at"], f["kind"], f["name"], f["boxes"]) for f in answer.json()["results"]]

    assert found(from_seconds=40) == [
        (40.0, LABEL, "Car", [[0.3, 0.5, 0.4, 0.4]]),
        (40.0, TEXT, "AB 123", [[0.4, 0.7, 0.2, 0.05]]),
        (40.5, TEXT, "AB 123", [[0.4, 0.7, 0.2, 0.05]]),
    ], "by time, each line with its box and each label with its instances'; words are in their lines"
    assert found(to_seconds=0.5) == [(0.0, LABEL, "Dog", []), (0.5, LABEL, "Dog", [])], "a label of the picture"
    assert [at for at, *_ in found(name="ab 123")] == [40.0, 40.5], "any case"
    assert found(kind="moderation") == [(20.0, MODERATION, "Explicit", [])]
    whole = viewer.get(url, {"from_seconds": 40, "kind": "text"}).json()["results"][0]
    assert whole == {"at": 40.0, "kind": TEXT, "name": "AB 123", "confidence": 91.0, "boxes": [[0.4, 0.7, 0.2, 0.05]]}
    assert viewer.get(url, {"page_size": 2}).json()["count"] == 8, "this video's only"

    assert viewer.get(url, {"kind": "face"}).status_code == 400
    assert viewer.get(url, {"at": 40}).status_code == 400, "a filter it does not have"
    assert viewer.get("/api/videos/00000000-0000-0000-0000-000000000000/frame-labels/").status_code == 404
    assert client_for(UserFactory()).get(url).status_code == 403
    audited = AuditEvent.objects.filter(action=AuditEvent.Action.VIDEO_VIEW, object_id=str(video.pk))
    assert audited.filter(details__query="kind=moderation").exists()


def test_a_stretch_of_a_videos_time_is_read_by_an_index_not_by_every_finding_of_the_video(video):
    """What the back office's player reads for its boxes: a minute of every kind (a 3-hour video has 200,000)."""
    hour = [VideoLabel(video=video, at=frame / 2, kind=kind, name="Thing", confidence=80.0)
            for frame in range(7200) for kind in (LABEL, MODERATION)]  # fmt: skip
    VideoLabel.objects.bulk_create(hour, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE videos_videolabel")  # the planner's figures, as the database keeps them
    minute = VideoLabel.objects.filter(video=video, at__gte=600, at__lte=660).order_by("at", "kind", "pk")
    plan = frame_values(minute).explain()
    assert "videos_label_video_at" in plan, plan


def test_videos_are_found_by_a_label_or_by_a_line_of_text_read_in_them(video):
    plate = {"type": "LINE", "id": 0, "parent_id": None, "box": [0.4, 0.7, 0.2, 0.05], "polygon": []}
    sign = {**plate, "box": [0.1, 0.1, 0.3, 0.1]}
    labels_record(video, [[6.0, TEXT, "AB 123 CD", 88.0, plate], [6.0, TEXT, "CAFÉ", 90.0, sign],
                          [6.5, TEXT, "AB 123 CD", 91.0, plate], [7.0, TEXT, "AB 128 CD", 93.0, plate]])  # fmt: skip
    other = Video.objects.exclude(pk=video.pk).get()
    viewer = client_for(UserFactory(role=roles.REVIEWER))

    def videos(**query) -> list[str]:
        answer = viewer.get("/api/videos/", query)
        assert answer.status_code == 200, answer.content
        return sorted(found["id"] for found in answer.json()["results"])

    assert videos(label="dog") == sorted([str(video.pk), str(other.pk)]), "each once, however many stretches"
    assert videos(label="explicit") == videos(label="Car") == [str(video.pk)]
    assert videos(text="123 c") == [str(video.pk)], "any part of a line, any case"
    assert videos(text="ab123") == videos(text="B123CD") == [str(video.pk)], "whatever the spaces OCR read"
    assert videos(text="ab128") == [str(video.pk)], "a frame's other reading of the plate too"
    assert videos(text="café") == [str(video.pk)], "any case beyond ASCII"
    assert videos(text="dog") == videos(label="AB 123 CD") == [], "labels are not text, nor text labels"
    lines = viewer.get(f"/api/videos/{video.pk}/labels/", {"name_contains": "b123c"}).json()["results"]
    assert [(s["kind"], s["name"], s["first_at"], s["last_at"], s["frames"]) for s in lines] == [
        (TEXT, "AB 123 CD", 6.0, 7.0, 3)
    ], "the plate misread in its last frame is still one stretch, named as it was read most"

    admin = Client()
    admin.force_login(UserFactory(role=roles.REVIEWER, is_staff=True))
    listed = admin.get(reverse("admin:videos_video_changelist"), {"q": "ab123"}).content.decode()
    assert str(video.pk) in listed and str(other.pk) not in listed, "the back office's search reads them too"
    assert "1 result" in listed and '<td class="field-sighting_count">3</td>' in listed, "its sightings counted once"
    Video.objects.filter(pk=other.pk).update(original_filename="gate-camera.mp4")
    by_name = admin.get(reverse("admin:videos_video_changelist"), {"q": "gate"}).content.decode()
    assert str(other.pk) in by_name and str(video.pk) not in by_name, "and the file's name, as before"
