"""The quality bars a face must pass to be indexed, compared or searched, in Rekognition's words: what
IndexFaces', CompareFaces' and the searches' ``QualityFilter`` apply.

Rekognition does not publish its bars, only that ``HIGH`` filters most and ``LOW`` least; these are Facesite's.
``MEDIUM`` (and ``AUTO``, IndexFaces' default and the enrolment gate) is ``FACESITE_ENROL_MIN_FACE_PIXELS`` and
``FACESITE_ENROL_MIN_SHARPNESS``; ``LOW`` asks half of each, enough to leave out what is hardly a face;
``HIGH`` half as much again, and a face the detector is sure of, turned at most 45° aside or 30° up or down,
and not in the dark. ``NONE`` filters nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from recognition.engines import base as engine_types
from recognition.validation import CheckedImage


@dataclass(frozen=True)
class QualityBar:
    scale: float  # of the enrolment gate's face size and sharpness
    min_confidence: float = 0.0  # the detector's, 0–100
    max_yaw: float = 180.0  # degrees either way
    max_pitch: float = 180.0
    min_brightness: float = 0.0  # 0–100


BARS = {
    "LOW": QualityBar(scale=0.5),
    "MEDIUM": QualityBar(scale=1.0),
    "AUTO": QualityBar(scale=1.0),
    "HIGH": QualityBar(scale=1.5, min_confidence=90.0, max_yaw=45.0, max_pitch=30.0, min_brightness=20.0),
}


def quality_faults(face: engine_types.FaceDetail, photo: CheckedImage, level: str = "AUTO") -> list[str]:
    """Why ``face`` of ``photo`` fails the ``level`` bar (``SMALL_BOUNDING_BOX``, ``LOW_SHARPNESS``,
    ``LOW_CONFIDENCE``, ``EXTREME_POSE``, ``LOW_BRIGHTNESS``); none when it passes, or ``level`` is NONE."""
    if level == "NONE":
        return []
    bar = BARS[level]
    box = face.bounding_box
    faults = []
    if min(box.width * photo.info.width, box.height * photo.info.height) < (
        bar.scale * settings.FACESITE_ENROL_MIN_FACE_PIXELS
    ):
        faults.append("SMALL_BOUNDING_BOX")
    sharpness = face.quality.get("Sharpness")
    if sharpness is not None and sharpness < bar.scale * settings.FACESITE_ENROL_MIN_SHARPNESS:
        faults.append("LOW_SHARPNESS")
    if face.confidence < bar.min_confidence:
        faults.append("LOW_CONFIDENCE")
    if abs(face.pose.get("Yaw", 0.0)) > bar.max_yaw or abs(face.pose.get("Pitch", 0.0)) > bar.max_pitch:
        faults.append("EXTREME_POSE")
    if face.quality.get("Brightness", 100.0) < bar.min_brightness:
        faults.append("LOW_BRIGHTNESS")
    return faults
