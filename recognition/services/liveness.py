"""A head-turn challenge for door kiosks: the same face, turning to its left and then to its right.

The kiosk sends a short burst of frames while it asks the person to turn their head left, then right.
The check passes when every frame with a face shows one face, enough frames show it, each is the same
person as the first (identity similarity), and the yaw goes past ``TURN_DEGREES`` to the person's left
before it goes past it to their right. Yaw is the engine's (for the local engine, estimated from the
five landmarks): positive when the person turns to their own left, as seen in the camera's unmirrored
frames.

What it stops: a printed photo or a still picture on a phone held up to the camera, which cannot turn.
What it does not: a video of the person turning their head, a 3-D mask, a look-alike. It is a challenge
that raises the effort of the simplest attacks, not certified presentation-attack detection (ISO/IEC
30107-3); docs/KIOSK.md says so to the people who deploy it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recognition.engine_handler import get_engine
from recognition.engines.base import BaseEngine, FaceDetail
from recognition.engines.embedding import EmbeddingEngine

TURN_DEGREES = 15.0  # yaw each way that counts as a turn
SAME_PERSON = 80.0  # similarity (0–100) of every frame's face with the first frame's
MIN_FRAMES = 3  # frames with a face
MAX_FRAMES = 24


@dataclass(frozen=True)
class LivenessResult:
    passed: bool
    reason: str  # why not, in words a person at the door can act on; "" when passed
    yaws: tuple[float, ...] = ()


def head_turn_check(frames: list[bytes]) -> LivenessResult:
    """Whether ``frames`` (in the order taken) show one person turning their head left, then right."""
    if len(frames) > MAX_FRAMES:
        return LivenessResult(False, f"Too many frames: at most {MAX_FRAMES}.")
    engine = get_engine()
    seen: list[tuple[bytes, FaceDetail]] = []
    for frame in frames:
        faces = engine.detect_faces(frame, attributes=False)
        if len(faces) > 1:
            return LivenessResult(False, "Several faces were seen.")
        if faces:
            seen.append((frame, faces[0]))
    if len(seen) < MIN_FRAMES:
        return LivenessResult(False, "The face was not seen long enough.")
    yaws = tuple(face.pose.get("Yaw", 0.0) for _, face in seen)
    if not all(s >= SAME_PERSON for s in _similarities_to_first(engine, seen)):
        return LivenessResult(False, "The face changed during the challenge.", yaws)
    left = next((i for i, yaw in enumerate(yaws) if yaw >= TURN_DEGREES), None)
    if left is None or not any(yaw <= -TURN_DEGREES for yaw in yaws[left + 1 :]):
        return LivenessResult(False, "The head did not turn left, then right.", yaws)
    return LivenessResult(True, "", yaws)


def _similarities_to_first(engine: BaseEngine, seen: list[tuple[bytes, FaceDetail]]) -> list[float]:
    first_frame, first = seen[0]
    if isinstance(engine, EmbeddingEngine) and first.embedding is not None:
        return [
            engine.similarity_from_cosine(float(np.dot(first.embedding, face.embedding)))
            for _, face in seen[1:]
            if face.embedding is not None
        ]
    # Engines that keep embeddings to themselves compare the photos (one call per frame).
    return [max((m.similarity for m in engine.compare_faces(first_frame, frame, threshold=0.0).matches), default=0.0)
            for frame, _ in seen[1:]]  # fmt: skip
