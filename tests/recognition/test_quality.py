"""The quality bars of ``QualityFilter`` (``recognition.services.quality``), on faces the local engine finds
in real photos: a clear portrait passes every bar, a darkened copy of it only the bars that do not ask for
light, a small face only LOW, and what the detector took for a face on a street sign none."""

import io

import pytest
from PIL import Image

from recognition.engines.local import LocalEngine
from recognition.services.quality import quality_faults
from recognition.validation import checked
from tests.images import FIXTURES


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    return LocalEngine()


@pytest.fixture(autouse=True)
def enrolment_gate(settings):
    settings.FACESITE_ENROL_MIN_FACE_PIXELS, settings.FACESITE_ENROL_MIN_SHARPNESS = 60, 20.0  # the defaults


def faults(engine: LocalEngine, data: bytes) -> dict[str, list[str]]:
    """Each bar's faults for the largest face of ``data``."""
    photo = checked(data)
    face = engine.detect_faces(photo.data)[0]
    return {level: quality_faults(face, photo, level) for level in ("NONE", "LOW", "MEDIUM", "AUTO", "HIGH")}


def darkened(name: str, factor: float) -> bytes:
    out = io.BytesIO()
    Image.open(FIXTURES / name).convert("RGB").point(lambda v: int(v * factor)).save(out, "JPEG", quality=95)
    return out.getvalue()


def test_a_clear_portrait_passes_every_bar(engine):
    found = faults(engine, (FIXTURES / "obama.jpg").read_bytes())
    assert list(found) == ["NONE", "LOW", "MEDIUM", "AUTO", "HIGH"] and not any(found.values())


def test_a_dark_face_fails_only_the_bar_that_asks_for_light(engine):
    found = faults(engine, darkened("obama.jpg", 0.3))
    assert found["MEDIUM"] == found["LOW"] == [] and found["HIGH"] == ["LOW_BRIGHTNESS"]


def test_a_small_face_passes_only_the_low_bar(engine, settings):
    settings.FACESITE_ENROL_MIN_FACE_PIXELS = 300  # obama.jpg's face is about 230 pixels across
    found = faults(engine, (FIXTURES / "obama.jpg").read_bytes())
    assert found["LOW"] == [] and found["MEDIUM"] == found["AUTO"] == found["HIGH"] == ["SMALL_BOUNDING_BOX"]


def test_what_is_hardly_a_face_fails_even_the_low_bar(engine):
    found = faults(engine, (FIXTURES / "scenetext01.jpg").read_bytes())  # a street sign, seen side-on as a face
    assert found["NONE"] == [] and found["LOW"] == ["LOW_SHARPNESS"]
    assert found["HIGH"] == ["SMALL_BOUNDING_BOX", "LOW_SHARPNESS", "LOW_CONFIDENCE", "EXTREME_POSE"]
