"""A deterministic engine for tests, like Django's locmem email backend.

It loads no model and needs no network, yet behaves like a real engine in every
way the pipeline relies on:

* every image at least 24 pixels on its shorter side has one face, in the middle;
  smaller images have none;
* the face's embedding is the image's 8×8 greyscale thumbnail, mean-centred, so
  the same picture matches itself at 100 and unrelated pictures score low;
* labels name the image's dominant colour (``Red``, ``Green``, ``Blue``, parent
  ``Color``), plus ``Person`` when there is a face;
* no text, no moderation labels.

Option ``delay`` (seconds) makes face detection slow, to test what happens to
work in flight; ``text_delay`` does the same to reading text, as slow as OCR.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from PIL import Image

from recognition.engines.base import (
    BoundingBox,
    FaceDetail,
    FaceStore,
    ImageProperties,
    Label,
    Landmark,
    ModerationLabel,
    TextDetection,
)
from recognition.engines.embedding import EmbeddingEngine
from recognition.engines.imaging import decode_rgb
from recognition.engines.properties import image_properties

MIN_FACE_SIDE = 24
FACE_BOX = BoundingBox(left=0.3, top=0.2, width=0.4, height=0.55)


def similarity_from_cosine(cos: float) -> float:
    return round(max(0.0, min(1.0, cos)) * 100.0, 3)


class FakeEngine(EmbeddingEngine):
    name = "fake"
    model_version = "1"

    def __init__(
        self, *, face_store: FaceStore | None = None, delay: float = 0.0, text_delay: float = 0.0, **options: Any
    ) -> None:
        super().__init__(face_store=face_store, **options)
        self.delay = float(delay)
        self.text_delay = float(text_delay)

    similarity_from_cosine = staticmethod(similarity_from_cosine)

    def detect_labels(self, image: bytes, *, max_labels: int = 50, min_confidence: float = 55.0) -> list[Label]:
        rgb = decode_rgb(image)
        means = np.asarray(rgb, dtype=np.float32).reshape(-1, 3).mean(axis=0)
        colour = ("Red", "Green", "Blue")[int(np.argmax(means))]
        share = float(means.max() / max(means.sum(), 1.0))
        labels = [
            Label(name=colour, confidence=round(55.0 + 45.0 * share, 3), parents=("Color",)),
            Label(name="Color", confidence=99.0),
        ]
        if self._has_face(rgb):
            labels.append(Label(name="Person", confidence=99.0))
        labels = [label for label in labels if label.confidence >= min_confidence]
        return sorted(labels, key=lambda label: -label.confidence)[:max_labels]

    def detect_faces(self, image: bytes, *, attributes: bool = True) -> list[FaceDetail]:
        if self.delay:
            time.sleep(self.delay)
        rgb = decode_rgb(image)
        if not self._has_face(rgb):
            return []
        return [self._face(rgb)]

    def detect_text(self, image: bytes) -> list[TextDetection]:
        if self.text_delay:
            time.sleep(self.text_delay)
        decode_rgb(image)
        return []

    def detect_moderation_labels(self, image: bytes, *, min_confidence: float = 50.0) -> list[ModerationLabel]:
        decode_rgb(image)
        return []

    def detect_image_properties(self, image: bytes) -> ImageProperties:
        return image_properties(decode_rgb(image))

    @staticmethod
    def _has_face(rgb: Image.Image) -> bool:
        return min(rgb.size) >= MIN_FACE_SIDE

    @staticmethod
    def _face(rgb: Image.Image) -> FaceDetail:
        thumb = np.asarray(rgb.convert("L").resize((8, 8), Image.Resampling.BILINEAR), dtype=np.float32).ravel()
        vector = thumb - thumb.mean()
        norm = float(np.linalg.norm(vector))
        if norm > 1e-6:
            embedding = vector / norm
        else:
            # A flat image has no structure to compare: a direction drawn from its colour, so
            # different colours are unrelated (near-orthogonal in 64 dimensions) and equal ones match.
            seed = int.from_bytes(bytes(int(c) for c in np.asarray(rgb.resize((1, 1))).ravel()), "big")
            direction = np.random.default_rng(seed).standard_normal(64)
            embedding = direction / np.linalg.norm(direction)
        box = FACE_BOX
        landmarks = (
            Landmark("eyeLeft", box.left + 0.3 * box.width, box.top + 0.35 * box.height),
            Landmark("eyeRight", box.left + 0.7 * box.width, box.top + 0.35 * box.height),
            Landmark("nose", box.left + 0.5 * box.width, box.top + 0.55 * box.height),
            Landmark("mouthLeft", box.left + 0.35 * box.width, box.top + 0.75 * box.height),
            Landmark("mouthRight", box.left + 0.65 * box.width, box.top + 0.75 * box.height),
        )
        return FaceDetail(
            bounding_box=box,
            confidence=99.0,
            landmarks=landmarks,
            pose={"Roll": 0.0, "Yaw": 0.0, "Pitch": 0.0},
            quality={"Brightness": round(float(thumb.mean()) / 2.55, 3), "Sharpness": 50.0},
            attributes={},
            embedding=embedding.astype(np.float32),
        )
