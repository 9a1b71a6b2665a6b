"""Images as Amazon Rekognition accepts them.

Rekognition takes JPEG or PNG only, at most 5 MB sent as bytes (15 MB read from S3), at least 80 pixels
on each side and, for labels, at most 10 000 on the longer one. Anything else is re-encoded or resized
here rather than refused: boxes come back as ratios of the image, so a resized copy gives the same
answers. A JPEG keeps its EXIF orientation when sent as it is (Rekognition applies it, as we do); a
re-encoded copy is already upright.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

from recognition.engines.base import DEFAULT_MAX_PIXELS, BoundingBox, S3Location
from recognition.engines.imaging import decode_rgb

MAX_BYTES = 5 * 1024 * 1024
MAX_S3_BYTES = 15 * 1024 * 1024
MIN_SIDE = 80
MAX_SIDE = 10_000
FORMATS = {"JPEG", "PNG"}
JPEG_QUALITY = 90
# Around a face cut out for a search: Rekognition finds faces more surely with some of the head around.
CROP_MARGIN = 0.3


@dataclass(frozen=True)
class Header:
    format: str
    width: int
    height: int


def header(data: bytes) -> Header | None:
    """Format and size from the file's header, without decoding it; None if Pillow cannot tell."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return Header(format=str(image.format), width=image.width, height=image.height)
    except Exception:
        return None


def fits(head: Header | None, *, max_bytes: int, size: int) -> bool:
    return (
        head is not None
        and head.format in FORMATS
        and size <= max_bytes
        and min(head.width, head.height) >= MIN_SIDE
        and max(head.width, head.height) <= MAX_SIDE
    )


def image_param(
    data: bytes, *, location: S3Location | None = None, region: str | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
) -> dict[str, Any]:  # fmt: skip
    """The ``Image`` parameter for these bytes: the S3 object when Rekognition can read it there (same
    region, acceptable as it is), else the bytes, re-encoded when they are not acceptable."""
    head = header(data)
    if location is not None and location.region == region and fits(head, max_bytes=MAX_S3_BYTES, size=len(data)):
        return {"S3Object": {"Bucket": location.bucket, "Name": location.key}}
    if fits(head, max_bytes=MAX_BYTES, size=len(data)):
        return {"Bytes": data}
    return {"Bytes": reencoded(data, max_pixels=max_pixels)}


def reencoded(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """An upright JPEG of the picture within Rekognition's limits: sides between 80 and 10 000 pixels,
    under 5 MB (scaled down step by step until it is)."""
    rgb = decode_rgb(data, max_pixels=max_pixels)
    return encode_within_limits(rgb)


def encode_within_limits(rgb: Image.Image) -> bytes:
    scale = min(1.0, MAX_SIDE / max(rgb.size))
    scale = max(scale, MIN_SIDE / min(rgb.size))
    while True:
        size = (max(MIN_SIDE, round(rgb.width * scale)), max(MIN_SIDE, round(rgb.height * scale)))
        resized = rgb if size == rgb.size else rgb.resize(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        resized.save(buffer, format="JPEG", quality=JPEG_QUALITY)
        if buffer.tell() <= MAX_BYTES or min(size) <= MIN_SIDE:
            return buffer.getvalue()
        # JPEG size grows about with the pixel count: aim a little under the limit.
        scale *= (MAX_BYTES / buffer.tell()) ** 0.5 * 0.95


def face_crop(data: bytes, box: BoundingBox, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """The face with a margin of its head around it, as a JPEG Rekognition accepts, for searching one face
    of a picture that holds several (Rekognition's searches look only at the largest face)."""
    rgb = decode_rgb(data, max_pixels=max_pixels)
    margin_x, margin_y = box.width * CROP_MARGIN, box.height * CROP_MARGIN
    around = BoundingBox(
        left=box.left - margin_x, top=box.top - margin_y, width=box.width + 2 * margin_x,
        height=box.height + 2 * margin_y,
    ).clamped()  # fmt: skip
    left, top, right, bottom = around.to_pixels(rgb.width, rgb.height)
    crop = rgb.crop((left, top, max(right, left + 1), max(bottom, top + 1)))
    return encode_within_limits(crop)
