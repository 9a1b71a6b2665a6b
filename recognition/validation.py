"""Checks on image bytes before anything is stored."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from PIL import Image as PILImage

from recognition.engines.base import DEFAULT_MAX_PIXELS, ImageTooLargeError, InvalidImageError
from recognition.engines.imaging import display_size, open_image
from recognition.exceptions import ImageRejected


@dataclass(frozen=True)
class ImageInfo:
    format: str
    content_type: str
    extension: str
    width: int
    height: int
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class CheckedImage:
    """Bytes that passed ``inspect_image``, with what it found: services take these to decode only once."""

    data: bytes = field(repr=False)
    info: ImageInfo


def checked(data: bytes | CheckedImage) -> CheckedImage:
    """``data`` as a checked image, inspecting it unless that was already done."""
    return data if isinstance(data, CheckedImage) else CheckedImage(data=data, info=inspect_image(data))


def check_size(size: int) -> None:
    limit = settings.FACESITE_MAX_UPLOAD_BYTES
    if size > limit:
        raise ImageRejected(
            f"The file is {size:,} bytes; the limit is {limit:,} bytes.",
            code="too_large",
        )
    if size == 0:
        raise ImageRejected("The file is empty.", code="empty")


def stored_pixel_limit() -> int:
    """The most pixels a picture already accepted is decoded with (analysis, thumbnails): the upload limit,
    or the engines' own default when that is higher, so a picture accepted before the limit was lowered
    still opens."""
    return max(settings.FACESITE_MAX_IMAGE_PIXELS, DEFAULT_MAX_PIXELS)


def inspect_image(data: bytes) -> ImageInfo:
    """Identify the format from the bytes themselves and decode them fully.

    The declared content type and file name are never trusted. A format not accepted
    is refused from its header, before its decoder runs; a full decode catches
    truncated files; the pixel limit catches decompression bombs before their pixels
    are allocated.
    """
    check_size(len(data))
    try:
        # Formats not allowed are refused from their header: their decoders never see the bytes.
        image = open_image(
            data, max_pixels=settings.FACESITE_MAX_IMAGE_PIXELS, formats=settings.FACESITE_ALLOWED_IMAGE_FORMATS
        )
    except ImageTooLargeError as exc:
        raise ImageRejected(exc.message, code="too_many_pixels") from exc
    except InvalidImageError as exc:
        raise ImageRejected(exc.message, code=exc.code) from exc
    fmt = image.format or ""
    width, height = display_size(image)
    return ImageInfo(
        format=fmt,
        content_type=_CONTENT_TYPES.get(fmt) or PILImage.MIME.get(fmt, "application/octet-stream"),
        extension=_EXTENSIONS.get(fmt, fmt.lower()),
        width=width,
        height=height,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif"}
# An MPO file is a JPEG with more pictures appended: everything shows its first picture as a JPEG.
_CONTENT_TYPES = {"MPO": "image/jpeg"}
