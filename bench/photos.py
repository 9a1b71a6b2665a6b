"""The test photos as the benchmarks feed them to Facesite: 640×480 JPEGs, the size issue 15's figures are for."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
#: The fixtures with faces (none, one, several) and without, in a fixed order so runs compare.
PHOTOS = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.png", "dog.jpg", "messi5.jpg", "kite.jpg"]
SIZE = (640, 480)


def fixture(name: str) -> Image.Image:
    return Image.open(FIXTURES / name).convert("RGB")


def jpeg_640x480(picture: Image.Image) -> bytes:
    """``picture`` resized to 640×480 (bilinear) and saved as a quality-90 JPEG."""
    out = io.BytesIO()
    picture.resize(SIZE, Image.Resampling.BILINEAR).save(out, "JPEG", quality=90)
    return out.getvalue()
