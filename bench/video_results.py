"""Reading a long video's results: a page of Rekognition Video's Get operations, the video's REST answer and
its page in the back office, on a video of ``--hours`` hours whose results are as large as a busy scene's.

    .venv/bin/python bench/video_results.py [--hours 3] [--labels 10] [--sightings 2000] [--deep 50]
        [--database-url postgres://...]

The results are synthetic, written as the worker writes them when a video is done: ``--labels`` labels in
each sampled frame (2 a second) drawn from twice as many names, so that labels come and go (many stretches),
and one label of a category of its own in one frame of a thousand (a Get that asks for that category alone);
a plate read (a line and its word) in one frame of ten, its number changing every minute; ``--sightings``
faces followed for 20 s each at random times, each frame's face kept with its landmarks, pose and quality
(``face_details`` ``default``, as the compatible API's jobs keep them). Reads are in-process (no HTTP), each
figure the best of three: the first page of 1000, and the page after ``--deep`` pages; then the video's REST
answer, the same pages of its label stretches and of its labels and text frame by frame (and a minute of its
text), its ``video.analysed`` document and its page in the back office; then finding the video among the
others by a label and by a plate, through the REST API and the back office's search.
The database is a throw-away SQLite file, or ``--database-url``'s: the video and the account made are deleted
at the end (the account's reads stay in the audit trail); on PostgreSQL, the tables are analysed first, as
autovacuum does soon after so many rows are written.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arguments import positive_float, positive_int  # noqa: E402  (beside this script)
from scratch import scratch_folder  # noqa: E402  (beside this script)

SAMPLE_RATE = 2.0
FOLLOWED = 40  # sampled frames a sighting's face is followed for
# A label of its own category, in one sampled frame of a thousand: a Get that asks for that category alone.
RARE_CATEGORY = "Animals and Pets"
RARE_ONLY = {"LabelCategoryInclusionFilters": [RARE_CATEGORY]}
MARKS = [["eyeLeft", 0.31, 0.3], ["eyeRight", 0.39, 0.3], ["nose", 0.35, 0.37], ["mouthLeft", 0.32, 0.42],
         ["mouthRight", 0.38, 0.42]]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=positive_float, default=3.0)
    parser.add_argument("--labels", type=positive_int, default=10, help="labels in each sampled frame")
    parser.add_argument("--sightings", type=positive_int, default=2000)
    parser.add_argument("--deep", type=positive_int, default=50, help="pages walked before the deep page")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    os.environ["FACESITE_VAR_DIR"] = str(scratch_folder("facesite-bench-video-results-"))
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facesite.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["FACESITE_TWO_STEP_REQUIRED"] = "false"  # the back office's page, for the benchmark's own account
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from rekognition_api.models import VideoJob

    call_command("migrate", verbosity=0)
    print(f"A {args.hours:g}-hour video sampled {SAMPLE_RATE:g} times a second, on {connection.vendor}")
    video = labelled_and_followed(args)
    if connection.vendor == "postgresql":  # as autovacuum does soon after so many rows are written
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE videos_videolabel, videos_videolabelsegment, videos_sighting")
    try:
        measure(video, args.deep)
    finally:
        user = VideoJob.objects.get(video=video).user
        video.delete()
        user.delete()  # its reads stay in the audit trail, under its name, as any deleted user's do


def labelled_and_followed(args: argparse.Namespace) -> Any:
    from django.contrib.auth import get_user_model

    from recognition.models import Collection
    from rekognition_api.models import VideoJob
    from videos.labels import labels_record
    from videos.models import Sighting, Video

    seconds, rng = args.hours * 3600, random.Random(7)
    video = Video.objects.create(
        collection=Collection.get_default(), sample_rate=SAMPLE_RATE, chunk_seconds=60, status=Video.Status.DONE,
        features=["faces", "labels", "text"], identify=False, face_details=Video.FaceDetails.DEFAULT, duration=seconds,
    )  # fmt: skip
    names = [f"Thing {i}" for i in range(2 * args.labels)]
    details = {"parents": ["Object"], "aliases": [], "categories": ["Home and Indoors"], "instances": []}
    found = [[frame / SAMPLE_RATE, "label", name, rng.uniform(50, 99), details]
             for frame in range(int(seconds * SAMPLE_RATE)) for name in rng.sample(names, args.labels)]  # fmt: skip
    rare = {**details, "parents": ["Animal"], "categories": [RARE_CATEGORY]}
    found += [[frame / SAMPLE_RATE, "label", "Fox", 80.0, rare] for frame in range(0, int(seconds * SAMPLE_RATE), 1000)]
    where = {"box": [0.4, 0.7, 0.2, 0.05], "polygon": [[0.4, 0.7], [0.6, 0.7], [0.6, 0.75], [0.4, 0.75]]}
    for frame in range(0, int(seconds * SAMPLE_RATE), 10):
        number = frame // 120  # a plate a minute
        line, word = {"type": "LINE", "id": 0, **where}, {"type": "WORD", "id": 1, "parent_id": 0, **where}
        found += [[frame / SAMPLE_RATE, "text", f"PLATE {number}", 90.0, line],
                  [frame / SAMPLE_RATE, "text", str(number), 90.0, word]]  # fmt: skip
    start = time.perf_counter()
    labels_record(video, found)
    print(f"{len(found):,} labels in frames recorded in {time.perf_counter() - start:.1f} s")
    face = {"landmarks": MARKS, "pose": {"Roll": 1.0, "Yaw": -4.0, "Pitch": 2.0},
            "quality": {"Brightness": 61.0, "Sharpness": 78.0}}  # fmt: skip
    sightings = []
    for _ in range(args.sightings):
        first = rng.uniform(0, seconds - FOLLOWED / SAMPLE_RATE)
        boxes = [[first + k / SAMPLE_RATE, 0.3, 0.25, 0.1, 0.18, 99.2] for k in range(FOLLOWED)]
        sightings.append(Sighting(video=video, first_at=first, last_at=boxes[-1][0], best_at=first, boxes=boxes,
                                  details=[face] * FOLLOWED))  # fmt: skip
    Sighting.objects.bulk_create(sightings, batch_size=500)
    user = get_user_model().objects.create_user(f"bench-{video.pk}", is_superuser=True, is_staff=True)
    VideoJob.objects.create(video=video, user=user)  # of each kind in turn: a video has one job
    print(f"{args.sightings:,} sightings, {args.sightings * FOLLOWED:,} faces in frames")
    return video


def measure(video: Any, deep: int) -> None:
    from django.test import Client
    from django.urls import reverse
    from rest_framework.test import APIClient

    from integrations import xml
    from rekognition_api.models import VideoJob
    from rekognition_api.operations import video_labels, video_text, videos
    from rekognition_api.operations.common import Call

    user = VideoJob.objects.filter(video=video).first().user
    call = Call(user=user, client_ip="127.0.0.1", region="us-east-1")
    labels, faces, search = VideoJob.Kind.LABEL_DETECTION, VideoJob.Kind.FACE_DETECTION, VideoJob.Kind.FACE_SEARCH
    gets: list[tuple[str, VideoJob.Kind, Callable[..., dict[str, Any]], dict[str, Any]]] = [
        ("GetLabelDetection", labels, video_labels.get_label_detection, {}),
        ("GetLabelDetection category", labels, video_labels.get_label_detection, {"GeneralLabels": RARE_ONLY}),
        ("GetLabelDetection SEGMENTS", labels, video_labels.get_label_detection, {"AggregateBy": "SEGMENTS"}),
        ("GetLabelDetection NAME", labels, video_labels.get_label_detection, {"SortBy": "NAME"}),
        ("GetFaceDetection", faces, videos.get_face_detection, {}),
        ("GetFaceSearch", search, videos.get_face_search, {}),
        ("GetFaceSearch INDEX", search, videos.get_face_search, {"SortBy": "INDEX"}),
        ("GetTextDetection", VideoJob.Kind.TEXT_DETECTION, video_text.get_text_detection, {}),
    ]  # fmt: skip
    print(f"{'':28} {'first page':>11} {f'page {deep + 1}':>11}")
    for name, kind, get, params in gets:
        # A job keeps its start's Settings.GeneralLabels; here they are put there for each Get.
        VideoJob.objects.filter(video=video).update(kind=kind, settings=params.pop("GeneralLabels", {}))
        params = {"JobId": str(video.pk), **params}
        first, answer = best_of_three(lambda: get(call, params))  # noqa: B023  (called at once)
        for _ in range(deep - 1):
            answer = get(call, {**params, "NextToken": answer.get("NextToken")}) if "NextToken" in answer else {}
        if "NextToken" not in answer:
            print(f"{name:28} {first:8.0f} ms {'–':>11}  (fewer pages: a longer video, or --deep lower)")
            continue
        later, _ = best_of_three(lambda: get(call, {**params, "NextToken": answer["NextToken"]}))  # noqa: B023
        print(f"{name:28} {first:8.0f} ms {later:8.0f} ms", flush=True)
    client = APIClient(HTTP_HOST="localhost")
    client.force_authenticate(call.user)
    rest, response = best_of_three(lambda: client.get(f"/api/videos/{video.pk}/"))
    assert response.status_code == 200, response.content[:300]
    print(f"{'GET /api/videos/{id}/':28} {rest:8.0f} ms  ({len(response.json()['labels']):,} label stretches, "
          f"{len(response.content) / 1e6:.1f} MB)")  # fmt: skip
    pages = [("GET …/labels/", "labels/", {}), ("GET …/frame-labels/", "frame-labels/", {}),
             ("GET …/frame-labels/ text", "frame-labels/", {"kind": "text"})]  # fmt: skip
    for name, path, query in pages:
        url = f"/api/videos/{video.pk}/{path}"
        first, response = best_of_three(lambda: client.get(url, {**query, "page_size": 1000}))  # noqa: B023
        assert response.status_code == 200, response.content[:300]
        count = response.json()["count"]
        last = min(deep + 1, -(-count // 1000))
        deeper, _ = best_of_three(lambda: client.get(url, {**query, "page_size": 1000, "page": last}))  # noqa: B023
        shown = f"{deeper:8.0f} ms" if last == deep + 1 else f"{'–':>11}"
        print(f"{name:28} {first:8.0f} ms {shown}  ({count:,} in all)")
    minute = {"from_seconds": video.duration / 2, "to_seconds": video.duration / 2 + 60, "page_size": 500}
    for name, query in (("a minute", minute), ("a minute of text", {**minute, "kind": "text"})):
        took, response = best_of_three(lambda: client.get(f"/api/videos/{video.pk}/frame-labels/", query))  # noqa: B023
        print(f"{'GET …/frame-labels/ ' + name:28} {took:8.0f} ms  ({response.json()['count']} in it)")
    built, document = best_of_three(lambda: xml.video_event(video, key="bench"))
    print(f"{'video.analysed document':28} {built:8.0f} ms  ({len(document) / 1e6:.1f} MB)")
    browser = Client(HTTP_HOST="localhost")
    browser.force_login(call.user)
    shown, page = best_of_three(lambda: browser.get(reverse("admin:videos_video_change", args=[video.pk])))
    assert page.status_code == 200, page.status_code
    print(f"{'the video page (back office)':28} {shown:8.0f} ms  ({len(page.content) / 1e6:.1f} MB)")
    plate = f"PLATE {int(video.duration * SAMPLE_RATE) // 240}"  # read halfway through
    for name, query in (("GET /api/videos/?label=", {"label": "fox"}), ("GET /api/videos/?text=", {"text": plate})):
        took, response = best_of_three(lambda: client.get("/api/videos/", query))  # noqa: B023
        assert response.json()["count"] == 1, response.content[:300]
        print(f"{name:28} {took:8.0f} ms")
    changelist = reverse("admin:videos_video_changelist")
    searched, page = best_of_three(lambda: browser.get(changelist, {"q": plate}))
    assert page.status_code == 200 and str(video.pk) in page.content.decode(), page.status_code
    print(f"{'search in the back office':28} {searched:8.0f} ms")


def best_of_three(read: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(3):
        start = time.perf_counter()
        result = read()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), result


if __name__ == "__main__":
    main()
