"""A video's followed faces read from any place on (``videos.timeline``): in time order across sightings that
overlap, or sighting by sighting, each face once, as sorting them all would give them."""

import random

import pytest

from recognition.models import Collection
from videos.models import Sighting, Video
from videos.timeline import SeenFace, faces_by_sighting, faces_by_time, sighting_indexes

pytestmark = pytest.mark.django_db


@pytest.fixture
def sightings():
    """Twenty faces followed at random times twice a second, some for long, two beginning together; and
    another video's sighting, which is never read."""
    rng = random.Random(3)
    collection = Collection.get_default()
    video = Video.objects.create(collection=collection, sample_rate=2.0, chunk_seconds=10)
    starts = [round(rng.uniform(0, 60) * 2) / 2 for _ in range(18)] + [10.0, 10.0]
    for first in starts:
        boxes = [[first + k / 2, 0.1, 0.1, 0.2, 0.2, 99.0] for k in range(rng.choice([1, 3, 10, 80]))]
        Sighting.objects.create(video=video, first_at=first, last_at=boxes[-1][0], best_at=first, boxes=boxes)
    other = Video.objects.create(collection=collection, sample_rate=2.0, chunk_seconds=10)
    Sighting.objects.create(video=other, first_at=0, last_at=0, best_at=0, boxes=[[0, 0.1, 0.1, 0.2, 0.2, 99.0]])
    return Sighting.objects.filter(video=video)


def every_face(sightings) -> list[SeenFace]:
    return [SeenFace(box[0], s, i) for s in sightings for i, box in enumerate(s.boxes)]


def test_faces_by_time_are_every_face_in_time_order_from_any_place(sightings):
    whole = sorted(every_face(sightings), key=SeenFace.by_time)
    assert len({tuple(face.by_time()) for face in whole}) == len(whole), "places are unique"
    assert list(faces_by_time(sightings)) == whole
    for i in range(0, len(whole), 7):
        assert list(faces_by_time(sightings, after=whole[i].by_time())) == whole[i + 1 :]
    assert list(faces_by_time(sightings, after=whole[-1].by_time())) == []


def test_faces_by_sighting_are_each_sightings_faces_in_turn_from_any_place(sightings):
    whole = sorted(every_face(sightings), key=SeenFace.by_sighting)
    assert list(faces_by_sighting(sightings)) == whole
    for i in range(0, len(whole), 7):
        assert list(faces_by_sighting(sightings, after=whole[i].by_sighting())) == whole[i + 1 :]


def test_a_sightings_index_is_where_it_is_as_sightings_began(sightings):
    ordered = list(sightings.order_by("first_at", "pk"))
    some = [ordered[3], ordered[11], ordered[4], ordered[19]]
    assert sighting_indexes(sightings, some) == {s.pk: i for i, s in enumerate(ordered) if 3 <= i <= 19}
    assert sighting_indexes(sightings, []) == {}
