"""The test photos as the benchmarks feed them to Facesite: 640×480 JPEGs, the size issue 15's figures are for.
The scripts put the project's root on ``sys.path`` before importing this."""

from __future__ import annotations

from PIL import Image

from tests.images import FIXTURES, encode

#: The fixtures with faces (none, one, several) and without, in a fixed order so runs compare.
PHOTOS = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.png", "dog.jpg", "messi5.jpg", "kite.jpg"]
SIZE = (640, 480)


def fixture(name: str) -> Image.Image:
    return Image.open(FIXTURES / name).convert("RGB")


def jpeg_640x480(picture: Image.Image) -> bytes:
    """``picture`` resized to 640×480 (bilinear) and saved as a quality-90 JPEG."""
    return encode(picture.resize(SIZE, Image.Resampling.BILINEAR), "JPEG", quality=90)
