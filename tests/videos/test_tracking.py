"""Tracks of faces across sampled frames, on hand-made faces (no Django, no model)."""

from dataclasses import replace

import numpy as np

from recognition.engines.base import BoundingBox, FaceDetail, Landmark
from videos.tracking import Tracker, merge, track_from_json, track_to_json


def face(left: float, identity: int, *, confidence: float = 99.0, width: float = 0.1) -> FaceDetail:
    vector = np.zeros(128, dtype=np.float32)
    vector[identity] = 1.0
    vector[127] = 0.2  # a little shared, as real embeddings are
    return FaceDetail(
        bounding_box=BoundingBox(left, 0.3, width, 0.15),
        confidence=confidence,
        embedding=vector / np.linalg.norm(vector),
    )


def test_one_person_walking_through_is_one_track_and_two_crossing_are_two():
    tracker = Tracker(max_gap=1.5)
    for step in range(8):  # A walks right, B walks left: they cross in the middle
        at = step * 0.5
        tracker.add(at, [face(0.1 + 0.1 * step, identity=1), face(0.8 - 0.1 * step, identity=2)])
    assert len(tracker.tracks) == 2
    for track in tracker.tracks:
        assert len(track.observations) == 8 and track.first_at == 0.0 and track.last_at == 3.5
        lefts = [face.bounding_box.left for _, face in track.observations]
        assert lefts == sorted(lefts) or lefts == sorted(lefts, reverse=True), "each track follows one walker"


def test_a_face_gone_longer_than_the_gap_starts_a_new_track():
    tracker = Tracker(max_gap=1.0)
    tracker.add(0.0, [face(0.4, identity=1)])
    tracker.add(0.5, [face(0.4, identity=1)])
    tracker.add(3.0, [face(0.4, identity=1)])
    assert [len(t.observations) for t in tracker.tracks] == [2, 1]


def test_the_best_sighting_is_the_largest_and_most_confident():
    tracker = Tracker(max_gap=1.0)
    tracker.add(0.0, [face(0.4, identity=1, width=0.05)])
    placed = tracker.add(0.5, [face(0.4, identity=1, width=0.2)])
    tracker.add(1.0, [face(0.4, identity=1, width=0.1, confidence=70)])
    assert placed[0][1] is True
    assert tracker.tracks[0].best_at == 0.5


def test_tracks_cut_by_a_chunk_boundary_are_merged_and_survive_json():
    first, second = Tracker(max_gap=1.5), Tracker(max_gap=1.5)
    for at in (0.0, 0.5, 1.0, 1.5):
        first.add(at, [face(0.3, identity=1)])
    for at in (2.0, 2.5):
        second.add(at, [face(0.3, identity=1), face(0.7, identity=2)])
    stored = [[track_from_json(track_to_json(t)) for t in tracker.tracks] for tracker in (first, second)]
    merged = merge(stored, max_gap=1.5)
    assert sorted((t.first_at, t.last_at, len(t.observations)) for t in merged) == [(0.0, 2.5, 6), (2.0, 2.5, 2)]


def test_each_frames_face_survives_json_without_its_embedding_and_old_chunks_still_read():
    tracker = Tracker(max_gap=1.5)
    seen = replace(face(0.3, identity=1), landmarks=(Landmark("nose", 0.35, 0.37),), pose={"Yaw": 12.0},
                   attributes={"Smile": {"Value": True, "Confidence": 90.0}})  # fmt: skip
    tracker.add(0.0, [seen])
    [track] = tracker.tracks
    assert track.observations[0][1].embedding is None, "one embedding a frame would be kept for nothing"
    [(at, kept)] = track_from_json(track_to_json(track)).observations
    assert (at, kept) == (0.0, replace(seen, embedding=None))

    before = {**track_to_json(track), "observations": [[0.5, 0.3, 0.3, 0.1, 0.15, 99.0]]}  # chunks queued earlier
    [(at, kept)] = track_from_json(before).observations
    assert (at, kept.bounding_box, kept.confidence, kept.landmarks) == (0.5, BoundingBox(0.3, 0.3, 0.1, 0.15), 99.0, ())
