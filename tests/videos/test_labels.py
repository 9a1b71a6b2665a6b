"""A video's labels kept once it is done: each frame's findings, and each stretch of consecutive sampled frames
a label was found in, with its most confident finding (``videos.labels``); a line of text misread in some
frames as one stretch, with the readings searches match (indexed on PostgreSQL, ``videos 0014``); each label
once on the video's page; and the stretches of videos labelled before they were kept (``videos 0011``), and
their readings (``videos 0013``)."""

import importlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from backoffice import roles
from recognition.engines.base import Analysis, BoundingBox, TextDetection
from recognition.models import Collection
from tests.factories import UserFactory
from videos.labels import (
    MAX_READINGS,
    frame_labels,
    holding,
    labels_found,
    labels_record,
    text_of,
    video_label_segments,
)
from videos.models import Video, VideoLabel, VideoLabelSegment

pytestmark = pytest.mark.django_db(transaction=True)
LABEL, MODERATION, TEXT = VideoLabel.Kind.LABEL, VideoLabel.Kind.MODERATION, VideoLabel.Kind.TEXT
BEFORE, AFTER = ("videos", "0010_labels"), ("videos", "0011_label_segments")


def dog(confidence: float) -> dict:
    return {"parents": ["Pet", "Animal"], "aliases": [], "categories": ["Animals and Pets"],
            "instances": [[0.1, 0.2, 0.3, 0.4, confidence]]}  # fmt: skip


#: Sampled twice a second: a dog at 0–1 s, gone for three frames (1.5–2.5 s), back at 3 s; a cat at 0.5 s and
#: 1.5 s, missed in the frame between; unsafe content (a moderation label, its own kind even where a label has
#: its name) at 0.5–1 s.
FOUND = [
    [0.0, LABEL, "Dog", 71.0, dog(71.0)],
    [0.5, LABEL, "Dog", 93.0, dog(93.0)],
    [0.5, LABEL, "Cat", 55.0, {"parents": ["Pet"]}],
    [0.5, MODERATION, "Explicit", 60.0, {"parent_name": "", "taxonomy_level": 1}],
    [1.0, LABEL, "Dog", 80.0, dog(80.0)],
    [1.0, MODERATION, "Explicit", 75.0, {"parent_name": "", "taxonomy_level": 1}],
    [1.5, LABEL, "Cat", 58.0, {"parents": ["Pet"]}],
    [3.0, LABEL, "Dog", 65.0, dog(65.0)],
]


def labelled_video(**fields) -> Video:
    return Video.objects.create(collection=Collection.get_default(), sample_rate=2.0, chunk_seconds=10, **fields)


def test_a_labels_findings_in_consecutive_frames_are_one_stretch_with_its_best_finding():
    video = labelled_video()
    assert labels_record(video, FOUND) == len(FOUND)
    assert [(s["kind"], s["name"], s["first_at"], s["last_at"], s["frames"], s["confidence"])
            for s in video_label_segments(video)] == [
        (LABEL, "Dog", 0.0, 1.0, 3, 93.0),
        (LABEL, "Cat", 0.5, 1.5, 2, 58.0),
        (MODERATION, "Explicit", 0.5, 1.0, 2, 75.0),
        (LABEL, "Dog", 3.0, 3.0, 1, 65.0),
    ], "a frame that missed the cat goes on with its stretch; three without the dog end its first"  # fmt: skip
    first = video.label_segments.get(name="Dog", start=0.0)
    assert first.details == dog(93.0), "the stretch keeps its most confident finding"
    assert [s["parents"] for s in video_label_segments(video)] == [["Pet", "Animal"], ["Pet"], [], ["Pet", "Animal"]]


def test_text_is_kept_as_read_in_each_frame_and_its_lines_as_stretches():
    video = labelled_video()
    box = BoundingBox(0.1, 0.2, 0.3, 0.05)
    corners = ((0.1, 0.2), (0.4, 0.2), (0.4, 0.25), (0.1, 0.25))
    exit_sign = [TextDetection("EXIT", "LINE", 97.5, box, id=0, polygon=corners),
                 TextDetection("EXIT", "WORD", 97.5, box, id=1, parent_id=0, polygon=corners)]  # fmt: skip
    found = [*frame_labels(Analysis(text=exit_sign * 2), at=0.0), *frame_labels(Analysis(text=exit_sign), at=0.5)]
    assert labels_record(video, found) == 6, "each line and word of each frame"
    rows = video.labels.filter(kind=TEXT).order_by("at", "pk")
    assert [text_of(row) for row in rows[:2]] == exit_sign, "read back as the engine gave them"
    assert [(s["kind"], s["name"], s["first_at"], s["last_at"], s["frames"], s["parents"])
            for s in video_label_segments(video)] == [(TEXT, "EXIT", 0.0, 0.5, 2, [])], (
        "the line's stretch, not its word's; two signs in one frame are one frame"
    )  # fmt: skip


def test_text_read_less_surely_than_the_videos_floor_is_left_out_and_a_lines_words_with_it():
    box, corners = BoundingBox(0.1, 0.2, 0.3, 0.05), ((0.1, 0.2), (0.4, 0.2), (0.4, 0.25), (0.1, 0.25))
    read = [TextDetection("EXIT 4", "LINE", 81.0, box, id=0, polygon=corners),
            TextDetection("EXIT", "WORD", 92.0, box, id=1, parent_id=0, polygon=corners),
            TextDetection("4", "WORD", 62.0, box, id=2, parent_id=0, polygon=corners),
            TextDetection("PUSH", "LINE", 68.0, box, id=3, polygon=corners),
            TextDetection("PUSH", "WORD", 88.0, box, id=4, parent_id=3, polygon=corners)]  # fmt: skip

    def kept(floor: float) -> list[str]:
        return [name for _, _, name, _, _ in frame_labels(Analysis(text=read), at=0.0, min_text_confidence=floor)]

    assert kept(0.0) == kept(62.0) == ["EXIT 4", "EXIT", "4", "PUSH", "PUSH"]
    assert kept(70.0) == ["EXIT 4", "EXIT"], "a word under it, and a line under it with its sure word"
    assert kept(90.0) == [], "a sure word of a line left out goes with it"


def line(at: float, text: str, confidence: float, box: list[float]) -> list:
    return [at, TEXT, text, confidence, {"type": "LINE", "id": 0, "parent_id": None, "box": box, "polygon": []}]


def test_a_line_misread_in_some_frames_is_one_stretch_named_as_it_was_read_most():
    """As OCR read a real sign passing by (scenetext01.jpg panned and zoomed, twelve frames)."""
    video = labelled_video()
    readings = ["AT ALL TIMES", "AT ALL_TIMES", *["AT ALL TIMES"] * 9, "AT ALL_TIMES"]
    passing = [[round(0.2 + 0.01 * i, 2), 0.5, 0.4, 0.06] for i in range(len(readings))]  # the camera pans
    found = [line(0.5 * i, text, 90.0 + i / 2, passing[i]) for i, text in enumerate(readings)]
    labels_record(video, found)
    assert [(s.name, s.start, s.end, s.frames) for s in video.label_segments.all()] == [
        ("AT ALL TIMES", 0.0, 5.5, 12)
    ], "one stretch, not four"  # fmt: skip
    first = video.label_segments.get()
    assert first.confidence == 95.0 and first.details["box"] == [0.3, 0.5, 0.4, 0.06], (
        "the most confident finding of the name's reading (AT ALL_TIMES at 5.5 s was more confident)"
    )
    assert first.readings.split("\n") == ["atalltimes", "atall_times"], "what searches find it by"
    assert video.labels.filter(kind=TEXT).count() == len(found), "each frame keeps what was read in it"


def test_a_stretch_keeps_for_searches_the_readings_found_in_most_frames():
    video = labelled_video()
    sign = [0.1, 0.1, 0.5, 0.05]
    noisy = [f"PLATFORM {n:02d} NORTH" for n in range(MAX_READINGS + 5)]  # each a digit from the last
    found = [line(0.5 * i, "PLATFORM 99 NORTH", 90.0, sign) for i in range(0, 60, 2)]  # every other frame
    found += [line(0.5 * i, noisy[i // 2 % len(noisy)], 80.0, sign) for i in range(1, 60, 2)]
    labels_record(video, sorted(found, key=lambda row: row[0]))
    stretch = video.label_segments.get()
    assert (stretch.name, stretch.frames) == ("PLATFORM 99 NORTH", 60)
    readings = stretch.readings.split("\n")
    assert len(readings) == MAX_READINGS and readings[0] == "platform99north", "the most frequent first"
    assert {"platform00north", "platform04north"} <= set(readings), "read twice, kept over those read once"


def test_lines_unlike_or_elsewhere_or_in_the_same_frame_are_not_joined():
    video = labelled_video()
    sign, elsewhere = [0.1, 0.1, 0.3, 0.05], [0.6, 0.1, 0.3, 0.05]
    labels_record(video, [
        line(0.0, "EXIT", 97.0, sign), line(0.0, "EXlT", 80.0, elsewhere),  # two signs in one frame
        line(0.5, "EXIT", 97.0, sign), line(0.5, "EXlT", 80.0, elsewhere),
        line(1.0, "EXTRA", 95.0, sign),  # two letters in five
        line(1.0, "EXIT", 96.0, elsewhere),  # a sign's exact reading: it joins whichever stretch has it
    ])  # fmt: skip
    assert [(s.name, s.start, s.end, s.frames) for s in video.label_segments.order_by("start", "name")] == [
        ("EXIT", 0.0, 1.0, 3), ("EXlT", 0.0, 0.5, 2), ("EXTRA", 1.0, 1.0, 1),
    ]  # fmt: skip


def test_videos_labelled_before_stretches_were_kept_get_theirs_at_the_upgrade():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    old = executor.loader.project_state([BEFORE]).apps
    OldVideo, OldLabel = old.get_model("videos", "Video"), old.get_model("videos", "VideoLabel")
    video = OldVideo.objects.create(collection_id=Collection.get_default().pk, sample_rate=2.0, chunk_seconds=10,
                                    status="done", features=["labels", "moderation"])  # fmt: skip
    OldVideo.objects.create(collection_id=video.collection_id, sample_rate=2.0, chunk_seconds=10)  # no labels
    OldLabel.objects.bulk_create(
        OldLabel(video=video, at=at, kind=kind, name=name, confidence=confidence, details=details)
        for at, kind, name, confidence, details in FOUND
    )
    try:
        MigrationExecutor(connection).migrate([AFTER])
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())  # and on to today's schema (0013: their readings)
        upgraded = Video.objects.get(pk=video.pk)
        recorded = labelled_video()
        labels_record(recorded, FOUND)
        fields = ("kind", "name", "start", "end", "frames", "confidence", "details", "readings")
        assert list(upgraded.label_segments.values_list(*fields)) == list(recorded.label_segments.values_list(*fields))
        assert upgraded.label_segments.count() == 4
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())  # today's schema for the tests after, whatever failed


def test_done_videos_stretches_are_cut_again_as_today_on_command():
    """After an upgrade that cuts stretches otherwise (a frame or two missed no longer ends one), the videos
    analysed before are cut again from what their frames kept."""
    old, fresh = labelled_video(status=Video.Status.DONE), labelled_video(status=Video.Status.DONE)
    busy = labelled_video(status=Video.Status.PROCESSING)
    for video in (old, fresh, busy):
        labels_record(video, FOUND)
    as_cut_before = [VideoLabelSegment(video=old, kind=LABEL, name="Cat", start=start, end=start, frames=1,
                                       confidence=55.0, readings="cat") for start in (0.5, 1.5)]  # fmt: skip
    old.label_segments.filter(name="Cat").delete()
    VideoLabelSegment.objects.bulk_create(as_cut_before)
    busy.label_segments.all().delete()
    fields = ("kind", "name", "start", "end", "frames", "confidence", "details", "readings")

    out = io.StringIO()
    call_command("video_stretches", stdout=out)
    assert list(old.label_segments.order_by("start", "name").values_list(*fields)) == list(
        fresh.label_segments.order_by("start", "name").values_list(*fields)
    ), "as a video analysed today has them"
    assert not busy.label_segments.exists(), "a video still being analysed is left to its analysis"
    assert f"[1/2] {old}: 5 → 4 stretches" in out.getvalue() and "2 videos: 9 → 8 stretches." in out.getvalue()

    call_command("video_stretches", str(fresh.pk), stdout=(out := io.StringIO()))
    assert f"[1/1] {fresh}: 4 → 4 stretches" in out.getvalue()
    with pytest.raises(CommandError, match=f"No done video has the id {busy.pk}: nothing was cut again"):
        call_command("video_stretches", str(fresh.pk), str(busy.pk))
    with pytest.raises(CommandError, match="Not a video id"):
        call_command("video_stretches", "42")


def test_stretches_kept_before_readings_get_their_names_at_the_upgrade():
    executor = MigrationExecutor(connection)
    executor.migrate([("videos", "0012_text")])
    old = executor.loader.project_state([("videos", "0012_text")]).apps
    OldVideo, OldStretch = old.get_model("videos", "Video"), old.get_model("videos", "VideoLabelSegment")
    video = OldVideo.objects.create(collection_id=Collection.get_default().pk, sample_rate=2.0, chunk_seconds=10)
    for name in ("AB 123 CD", "CAFÉ Straße", "Dog"):
        OldStretch.objects.create(video=video, kind=TEXT, name=name, start=0, end=0, frames=1, confidence=90.0)
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        assert dict(Video.objects.get(pk=video.pk).label_segments.values_list("name", "readings")) == {
            "AB 123 CD": "ab123cd", "CAFÉ Straße": "caféstrasse", "Dog": "dog",
        }, "as a stretch kept today has them, beyond ASCII too"  # fmt: skip
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index is PostgreSQL's")
def test_on_postgresql_a_trigram_index_serves_the_search_of_text():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # as on a table too large to scan, not a handful of rows
        plan = holding(VideoLabelSegment.objects.order_by(), "AB 123").explain()
    assert "videos_stretch_readings_trgm" in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index is PostgreSQL's")
def test_where_the_extension_cannot_be_made_the_upgrade_goes_on_and_says_what_to_run(caplog):
    trigram = importlib.import_module("videos.migrations.0014_readings_trigram_index")
    with transaction.atomic(), connection.cursor() as cursor, connection.schema_editor(atomic=False) as editor:
        cursor.execute("DROP EXTENSION pg_trgm CASCADE")  # and its index, in this transaction only
        cursor.execute("CREATE ROLE facesite_migrator_without_create")
        cursor.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO facesite_migrator_without_create")
        cursor.execute("SET LOCAL ROLE facesite_migrator_without_create")
        trigram.index(None, editor)
        cursor.execute("RESET ROLE")
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s", [trigram.INDEX])
        assert cursor.fetchone() == (0,)
        transaction.set_rollback(True)
    assert "could not be made (permission denied to create extension" in caplog.text
    assert "As a superuser, run: CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX" in caplog.text
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s", [trigram.INDEX])
        assert cursor.fetchone() == (1,), "the index is back, for the tests after"


def test_the_videos_page_lists_each_label_once_with_where_its_first_stretches_begin():
    video = labelled_video(status=Video.Status.DONE, features=["labels", "moderation"])
    dog_comes_and_goes = [[100.0 + 2 * i, LABEL, "Dog", 60.0 + i, dog(60.0 + i)] for i in range(30)]
    labels_record(video, FOUND + dog_comes_and_goes)
    found = labels_found(video, starts=12)
    assert [(f.kind, f.name, f.stretches, f.frames, f.more) for f in found] == [
        (LABEL, "Dog", 32, 34, 20), (LABEL, "Cat", 1, 2, 0), (MODERATION, "Explicit", 1, 2, 0),
    ], "in the order first found"  # fmt: skip
    assert found[0].starts == [0.0, 3.0, *(100.0 + 2 * i for i in range(10))] and found[0].confidence == 93.0
    assert found[0].parents == ["Pet", "Animal"] and found[2].parents == []

    admin = Client()
    admin.force_login(UserFactory(is_staff=True, role=roles.OPERATOR))
    page = admin.get(reverse("admin:videos_video_change", args=[video.pk])).content.decode()
    assert page.count('data-seek="') == 12 + 1 + 1 and "and 20 more" in page
    assert "<td>unsafe: Explicit</td>" in page
