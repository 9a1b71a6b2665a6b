"""The quality gate a face must pass to be a reference, in Rekognition's words: what IndexFaces' and
CompareFaces' ``QualityFilter`` apply."""

from __future__ import annotations

from django.conf import settings

from recognition.engines import base as engine_types
from recognition.validation import CheckedImage


def quality_faults(face: engine_types.FaceDetail, photo: CheckedImage) -> list[str]:
    """Why ``face`` of ``photo`` fails the gate (``SMALL_BOUNDING_BOX``, ``LOW_SHARPNESS``); none when it passes."""
    box = face.bounding_box
    faults = []
    if min(box.width * photo.info.width, box.height * photo.info.height) < settings.FACESITE_ENROL_MIN_FACE_PIXELS:
        faults.append("SMALL_BOUNDING_BOX")
    sharpness = face.quality.get("Sharpness")
    if sharpness is not None and sharpness < settings.FACESITE_ENROL_MIN_SHARPNESS:
        faults.append("LOW_SHARPNESS")
    return faults
