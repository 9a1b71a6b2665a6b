"""Thumbnails of images and crops of faces for the back office, made once and kept in storage."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Collection
from contextlib import suppress

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PILImage
from PIL import ImageOps

from recognition.engines.imaging import decode_rgb, open_image, to_rgb
from recognition.exceptions import FileMissing, StorageUnavailable
from recognition.models import Face, Image
from recognition.services.files import files_delete, stored_as
from recognition.validation import stored_pixel_limit

logger = logging.getLogger(__name__)


def image_thumbnail(image: Image, *, size: int) -> bytes:
    """JPEG of the whole image, its longer side ``size`` pixels (displayed orientation)."""
    return _cached(f"thumbs/{image.pk}-{size}.jpg", lambda: _render(image, size=size), of=image)


#: Every size a face crop is made in: the back office's 112, the door kiosk's and subject access exports' 160.
#: Erasure deletes a face's cached crops by these names, so no other size may be cached.
FACE_CROP_SIZES = (112, 160)


def face_crop(face: Face, *, size: int = 112) -> bytes:
    """JPEG of the face with a margin, ``size`` pixels square (one of ``FACE_CROP_SIZES``)."""
    if size not in FACE_CROP_SIZES:
        raise ValueError(f"Face crops are {FACE_CROP_SIZES} pixels, so that erasure finds them all; not {size}.")
    return _cached(f"thumbs/faces/{face.pk}-{size}.jpg", lambda: _crop(face, size=size), of=face)


def face_crop_if_stored(face: Face, *, size: int = 112) -> bytes | None:
    """``face_crop``, or None (logged) when the face's photo is missing from storage: for work that only
    wants a picture of the face and goes on without one (a door check, an alert's e-mail)."""
    try:
        return face_crop(face, size=size)
    except FileMissing as exc:
        logger.warning("Going on without a picture of face %s: %s", face.pk, exc.message)
        return None


def clean_rendition(image: Image) -> tuple[bytes, str]:
    """The picture as served: upright, at full size, re-encoded without metadata (no EXIF, no GPS) or
    anything appended to the file. JPEG stays JPEG (quality 95); every other format becomes PNG."""
    as_jpeg = image.content_type == "image/jpeg"
    name = f"thumbs/{image.pk}-clean.{'jpg' if as_jpeg else 'png'}"
    return _cached(name, lambda: _clean(image, as_jpeg=as_jpeg), of=image), "image/jpeg" if as_jpeg else "image/png"


def cached_names(*, image_ids: Collection[object] = (), face_ids: Collection[object] = ()) -> list[str]:
    """Storage names of the thumbnails and clean renditions of these images and the crops of these faces."""
    names = [f"thumbs/{image_id}-{size}.jpg" for image_id in image_ids for size in THUMBNAIL_SIZES]
    names += [f"thumbs/{image_id}-clean.{ext}" for image_id in image_ids for ext in ("jpg", "png")]
    return names + [f"thumbs/faces/{face_id}-{size}.jpg" for face_id in face_ids for size in FACE_CROP_SIZES]


THUMBNAIL_SIZES = (160, 800)


def _cached(name: str, make: Callable[[], bytes], *, of: Image | Face) -> bytes:
    """The picture stored under ``name``, or ``make()`` it and keep it there while its row ``of`` lasts.
    Erasure deletes a row's cached pictures once the row is gone; one stored after that, by a request that
    was making it meanwhile, would stay for good: it is deleted again at once."""
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as fh:
            data: bytes = fh.read()
            return data
    data = make()
    with suppress(StorageUnavailable):  # a full or read-only disk: served all the same, made again next time
        store_once(name, data)
        owner = Face if isinstance(of, Face) else Image  # the row itself, whichever proxy (FaceForReview) came
        if not owner.objects.filter(pk=of.pk).exists():
            files_delete(names=[name], again_later=True)
    return data


def store_once(name: str, data: bytes) -> None:
    """Keep ``data`` under exactly ``name``, or nothing (``StorageUnavailable``; no partly written file
    stays to be served later). Two requests making the same thumbnail at once would leave the second copy
    under a name of the storage's choosing, which erasure, knowing only ``name``, cannot find: that copy
    is removed at once."""
    with stored_as(name, ContentFile(data), kind="thumbnail", key=name) as saved:
        if saved != name:
            files_delete(names=[saved], again_later=True)


def _decoded(data: bytes) -> PILImage.Image:
    """A stored picture, upright RGB."""
    return decode_rgb(data, max_pixels=stored_pixel_limit())


def _render(image: Image, *, size: int) -> bytes:
    picture = _decoded(image.read_bytes())
    picture.thumbnail((size, size), PILImage.Resampling.LANCZOS)
    return _jpeg(picture)


def _clean(image: Image, *, as_jpeg: bool) -> bytes:
    picture = ImageOps.exif_transpose(open_image(image.read_bytes(), max_pixels=stored_pixel_limit()))
    out = io.BytesIO()
    if as_jpeg:
        to_rgb(picture).save(out, "JPEG", quality=95)
    else:
        keep = picture.mode in ("RGB", "RGBA", "L", "LA")
        picture = picture if keep else picture.convert("RGBA" if "transparency" in picture.info else "RGB")
        picture.save(out, "PNG")
    return out.getvalue()


def face_photo(face: Face) -> bytes:
    """The face at its full resolution with room around it, as a JPEG: a photo to enrol a sighting from."""
    return _jpeg(_face_region(face, margin=1.8), quality=95)


def _crop(face: Face, *, size: int) -> bytes:
    return _jpeg(_face_region(face, margin=1.4).resize((size, size), PILImage.Resampling.LANCZOS))


def _face_region(face: Face, *, margin: float) -> PILImage.Image:
    """A square around the face, ``margin`` times its longer side (padded with black past the image's edges)."""
    picture = _decoded(face.image.read_bytes())
    width, height = picture.size
    side = max(face.width * width, face.height * height) * margin
    cx, cy = (face.left + face.width / 2) * width, (face.top + face.height / 2) * height
    return picture.crop((round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2)))


def _jpeg(picture: PILImage.Image, *, quality: int = 85) -> bytes:
    out = io.BytesIO()
    picture.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()
