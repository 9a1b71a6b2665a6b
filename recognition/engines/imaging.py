"""Decoding image bytes for engines: pure Pillow, no Django.

Whatever the file holds (EXIF-rotated JPEG, grayscale, CMYK, alpha, 16-bit PNG,
animated GIF) comes out as an upright 8-bit RGB image, so every model sees the
picture a person would see.
"""

from __future__ import annotations

import io
import re
import threading
import warnings
from collections.abc import Collection

from PIL import Image, ImageOps, UnidentifiedImageError

from recognition.engines.base import DEFAULT_MAX_PIXELS, ImageTooLargeError, InvalidImageError


def decode_rgb(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    return to_rgb(ImageOps.exif_transpose(open_image(data, max_pixels=max_pixels)))


#: The last images decoded in this thread, by identity of their bytes: the checks at the door and the
#: engine behind it see the same bytes object, so one request decodes each image once.
_recent = threading.local()
_RECENT = 2


def open_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, formats: Collection[str] | None = None
) -> Image.Image:
    """Open and fully decode the first frame, refusing bombs and truncated data, and with ``formats`` any other
    format before its pixels are decoded (its decoder is never run on untrusted bytes). Callers must not
    change it."""
    recent: list[tuple[bytes, Image.Image]] = getattr(_recent, "images", [])
    for seen, image in recent:
        if seen is data and image.width * image.height <= max_pixels and (formats is None or image.format in formats):
            return image
    image = _decode(data, max_pixels, formats)
    # Holding ``data`` keeps its identity from being reused by another object while remembered.
    _recent.images = [(data, image), *recent][:_RECENT]
    return image


def forget_decoded(**kwargs: object) -> None:
    """Let go of the images this thread remembers (at the end of each request and task)."""
    _recent.images = []


def _decode(data: bytes, max_pixels: int, formats: Collection[str] | None) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow warns above a limit of its own (89 Mpx); ``max_pixels`` is checked instead, from the
            # header, before any pixel is allocated.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if formats is not None and image.format not in formats:
                raise InvalidImageError(
                    f"{image.format or 'This'} images are not accepted; send one of: {', '.join(formats)}.",
                    code="unsupported_format",
                )
            if image.width * image.height > max_pixels:
                raise ImageTooLargeError(
                    f"Image is {image.width}×{image.height} pixels, above the limit of {max_pixels:,} pixels."
                )
            image.seek(0)  # first frame of animations
            image.load()
    except InvalidImageError:
        raise
    except Image.DecompressionBombError as exc:  # above twice Pillow's limit, refused while opening
        raise ImageTooLargeError(_bomb_message(str(exc), max_pixels)) from exc
    except UnidentifiedImageError as exc:
        if _is_heif(data):
            raise InvalidImageError(HEIF_REFUSED, code="unsupported_format") from exc
        raise InvalidImageError("Not a readable image: the data is not in any known image format.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(f"Image data is corrupt or truncated: {exc}") from exc
    return image


#: HEIF's brands (ISO/IEC 23008-12), as the ``ftyp`` box at the start of the file names them: iPhones'
#: photos are HEIC unless the camera is set to "Most Compatible". Pillow has no HEIF decoder of its own.
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
HEIF_REFUSED = (
    "This is a HEIF (HEIC) picture, as iPhones take them, which Facesite does not read: send it as JPEG "
    "(share or export it as JPEG, or set the iPhone's camera to Settings → Camera → Formats → Most Compatible)."
)


def _is_heif(data: bytes) -> bool:
    return data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS


def _bomb_message(pillows: str, max_pixels: int) -> str:
    """The same words as for any image above ``max_pixels``, with the count Pillow's refusal gives."""
    count = re.search(r"\((\d+) pixels\)", pillows)
    pixels = f"{int(count[1]):,}" if count else f"more than {2 * (Image.MAX_IMAGE_PIXELS or 0):,}"
    return f"Image has {pixels} pixels, above the limit of {max_pixels:,} pixels."


def to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit greyscale: scale to 8 bits rather than clipping at 255.
        image = image.point(lambda v: v / 256).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def display_size(image: Image.Image) -> tuple[int, int]:
    """Width and height as displayed, once EXIF orientation is applied."""
    orientation = image.getexif().get(ORIENTATION_TAG, 1)
    if orientation in (5, 6, 7, 8):
        return image.height, image.width
    return image.width, image.height


ORIENTATION_TAG = 0x0112
