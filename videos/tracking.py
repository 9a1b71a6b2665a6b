"""Faces followed across sampled frames: one person walking through the picture is one track.

A face joins the track it most resembles among those seen within ``max_gap`` seconds: by identity
(embedding cosine) where the engine gives embeddings, else by box overlap. Tracks of separately analysed
chunks are merged the same way. No Django models here: faces in, tracks out.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from recognition.engines.base import BoundingBox, FaceDetail, Landmark

GAP_FRAMES = 3  # a face unseen for this many sampling intervals has gone: its track ends
SAME_FACE_COSINE = 0.30  # below SFace's own match point (0.363): frames of one face vary more than photos
MIN_OVERLAP = 0.3  # box overlap (intersection over union) for engines without embeddings


@dataclass
class Track:
    observations: list[tuple[float, FaceDetail]] = field(default_factory=list)  # at, the face (no embedding)
    best_at: float = 0.0
    best: FaceDetail | None = None
    best_score: float = -1.0
    embeddings: list[np.ndarray] = field(default_factory=list)
    frame_key: str = ""  # where the caller keeps the best frame (set by the caller)

    @property
    def first_at(self) -> float:
        return self.observations[0][0]

    @property
    def last_at(self) -> float:
        return self.observations[-1][0]

    @property
    def embedding(self) -> np.ndarray | None:
        if not self.embeddings:
            return None
        mean: np.ndarray = np.mean(self.embeddings, axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-9)

    def add(self, at: float, face: FaceDetail) -> bool:
        """Add a sighting of the face; True when it is the best one so far (the caller keeps its frame)."""
        self.observations.append((at, replace(face, embedding=None)))
        if face.embedding is not None:
            self.embeddings.append(np.asarray(face.embedding, dtype=np.float64))
        score = face_score(face)
        if score > self.best_score:
            self.best, self.best_at, self.best_score = face, at, score
            return True
        return False


def face_score(face: FaceDetail) -> float:
    """Which sighting of a track to identify and show: large, confident, sharp, facing the camera."""
    sharpness = face.quality.get("Sharpness", 50.0) / 100.0
    frontal = 1.0 - min(abs(face.pose.get("Yaw", 0.0)), 90.0) / 90.0
    return face.bounding_box.area * (face.confidence / 100.0) * (0.5 + sharpness) * (0.5 + frontal)


class Tracker:
    def __init__(self, *, max_gap: float):
        self.max_gap = max_gap
        self.tracks: list[Track] = []

    @classmethod
    def sampling(cls, every: float) -> Tracker:
        """A tracker for frames sampled ``every`` seconds: a track ends after ``GAP_FRAMES`` of them unseen."""
        return cls(max_gap=GAP_FRAMES * every)

    def add(self, at: float, faces: list[FaceDetail]) -> list[tuple[Track, bool]]:
        """Place each face of the frame at ``at`` on a track; (track, whether this is its best sighting)."""
        placed: list[tuple[Track, bool]] = []
        taken: set[int] = set()
        for face in sorted(faces, key=lambda f: -f.bounding_box.area):
            candidates = [
                (likeness(track, face), i)
                for i, track in enumerate(self.tracks)
                if i not in taken and at - track.last_at <= self.max_gap
            ]
            likeness_, index = max(candidates, default=(0.0, -1))
            if index < 0 or likeness_ <= 0.0:
                self.tracks.append(Track())
                index = len(self.tracks) - 1
            taken.add(index)
            placed.append((self.tracks[index], self.tracks[index].add(at, face)))
        return placed

    def finished(self, now: float) -> list[Track]:
        """Take out the tracks last seen longer than ``max_gap`` before ``now``: their face has gone."""
        done = [t for t in self.tracks if now - t.last_at > self.max_gap]
        self.tracks = [t for t in self.tracks if now - t.last_at <= self.max_gap]
        return done


def likeness(track: Track, face: FaceDetail) -> float:
    """How well ``face`` continues ``track``: above 0 when it may, higher when more alike."""
    mean = track.embedding
    if mean is not None and face.embedding is not None:
        cosine = float(np.dot(mean, face.embedding))
        return cosine if cosine >= SAME_FACE_COSINE else 0.0
    overlap = track.observations[-1][1].bounding_box.overlap(face.bounding_box)
    return overlap if overlap >= MIN_OVERLAP else 0.0


def merge(chunks: list[list[Track]], *, max_gap: float) -> list[Track]:
    """Join the tracks of earlier chunks with those of later ones that continue them across a boundary.
    Tracks of one chunk stay apart: whoever made them (the tracker, or the engine) told them apart."""
    merged: list[Track] = []
    for chunk in chunks:
        earlier, taken = list(merged), set()
        for track in sorted(chunk, key=lambda t: t.first_at):
            into = next(
                (m for m in reversed(earlier)
                 if id(m) not in taken and 0 <= track.first_at - m.last_at <= max_gap and _alike(m, track)),
                None,
            )  # fmt: skip
            if into is None:
                merged.append(track)
            else:
                taken.add(id(into))
                _join(into, track)
    return merged


def _join(into: Track, track: Track) -> None:
    into.observations += track.observations
    into.embeddings += track.embeddings
    if track.best_score > into.best_score:
        into.best, into.best_at, into.best_score, into.frame_key = (
            track.best, track.best_at, track.best_score, track.frame_key,
        )  # fmt: skip


def _alike(a: Track, b: Track) -> bool:
    if a.embedding is not None and b.embedding is not None:
        return float(np.dot(a.embedding, b.embedding)) >= SAME_FACE_COSINE
    return a.observations[-1][1].bounding_box.overlap(b.observations[0][1].bounding_box) >= MIN_OVERLAP


# Tracks kept between a chunk's task and the merge (JSON in the chunk's row) ---------------------------


def track_to_json(track: Track) -> dict[str, Any]:
    assert track.best is not None
    return {
        "observations": [[at, face_to_json(face)] for at, face in track.observations],
        "best_at": track.best_at,
        "best_score": track.best_score,
        "best": face_to_json(track.best),
        "embeddings": [_vector(e) for e in track.embeddings],
        "frame_key": track.frame_key,
    }


def track_from_json(data: dict[str, Any]) -> Track:
    return Track(
        observations=[_observation(o) for o in data["observations"]],
        best_at=data["best_at"],
        best=face_from_json(data["best"]),
        best_score=data["best_score"],
        embeddings=[_array(e) for e in data["embeddings"]],
        frame_key=data["frame_key"],
    )


def _observation(data: list[Any]) -> tuple[float, FaceDetail]:
    """``[at, face]``, or ``[at, left, top, width, height, confidence]`` as chunks analysed before faces were
    kept at every frame held them."""
    if len(data) == 2:
        return data[0], face_from_json(data[1])
    return data[0], FaceDetail(bounding_box=BoundingBox(*data[1:5]), confidence=data[5])


def face_to_json(face: FaceDetail) -> dict[str, Any]:
    box = face.bounding_box
    return {
        "box": [box.left, box.top, box.width, box.height],
        "confidence": face.confidence,
        "landmarks": [[lm.type, lm.x, lm.y] for lm in face.landmarks],
        "pose": face.pose,
        "quality": face.quality,
        "attributes": face.attributes,
        "embedding": None if face.embedding is None else _vector(face.embedding),
    }


def face_from_json(data: dict[str, Any]) -> FaceDetail:
    return FaceDetail(
        bounding_box=BoundingBox(*data["box"]),
        confidence=data["confidence"],
        landmarks=tuple(Landmark(kind, x, y) for kind, x, y in data["landmarks"]),
        pose=data["pose"],
        quality=data["quality"],
        attributes=data["attributes"],
        embedding=None if data["embedding"] is None else _array(data["embedding"]),
    )


def _vector(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()


def _array(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)
