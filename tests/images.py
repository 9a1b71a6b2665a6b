"""Image bytes made on the fly for tests that need particular properties."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

#: Real photos (credits in fixtures/CREDITS.md).
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def jpeg(size: tuple[int, int] = (64, 48), *, seed: int = 0, quality: int = 90) -> bytes:
    """A JPEG with structure (smooth random blobs), different for every seed."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    picture = Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)
    return encode(picture, "JPEG", quality=quality)


def group_photo(names: tuple[str, ...] = ("obama.jpg", "biden.jpg", "astronaut.png")) -> bytes:
    """Real photos of several people side by side, 400 px each: a picture with one face per photo."""
    tiles = [Image.open(FIXTURES / name).convert("RGB").resize((400, 500)) for name in names]
    picture = Image.new("RGB", (400 * len(tiles), 500), "white")
    for i, tile in enumerate(tiles):
        picture.paste(tile, (400 * i, 0))
    return encode(picture, "JPEG", quality=92)


def behind_a_fence(data: bytes) -> bytes:
    """The picture with a white picket fence drawn across its lower half, as in a family photo at a fence."""
    picture = Image.open(io.BytesIO(data)).convert("RGB")
    draw = ImageDraw.Draw(picture)
    width, height = picture.size
    top = int(height * 0.55)
    for x in range(0, width, 40):
        draw.rectangle([x, top, x + 22, height], fill=(235, 235, 225))
    for rail in (top + 30, height - 60):
        draw.rectangle([0, rail, width, rail + 18], fill=(235, 235, 225))
    return encode(picture, "JPEG", quality=92)


def y4m(pictures: list[bytes], *, size: tuple[int, int] = (640, 480), repeat: int = 5) -> bytes:
    """A raw YUV 4:2:0 video (YUV4MPEG2), each picture shown for ``repeat`` frames at 10 frames/s: what
    Chromium's fake camera (``--use-file-for-fake-video-capture``) plays, looping."""
    out = [f"YUV4MPEG2 W{size[0]} H{size[1]} F10:1 Ip A1:1 C420jpeg\n".encode()]
    for data in pictures:
        picture = Image.open(io.BytesIO(data)).convert("RGB")
        picture = ImageOps.pad(picture, size, color=(40, 40, 40)).convert("YCbCr")
        y, cb, cr = picture.split()
        half = (size[0] // 2, size[1] // 2)
        planes = y.tobytes() + cb.resize(half, Image.Resampling.BILINEAR).tobytes()
        planes += cr.resize(half, Image.Resampling.BILINEAR).tobytes()
        out += [b"FRAME\n" + planes] * repeat
    return b"".join(out)


def solid(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48), fmt: str = "PNG") -> bytes:
    return encode(Image.new("RGB", size, colour), fmt)


def encode(picture: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    picture.save(out, fmt, **options)
    return out.getvalue()


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A small, valid PNG declaring width×height 1-bit pixels (a decompression bomb)."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def upload_file(data: bytes, name: str = "photo.jpg"):
    """``data`` as a file uploaded in a form."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/jpeg")
