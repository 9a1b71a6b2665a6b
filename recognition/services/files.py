"""Stored files whose life follows their rows: saved before the row commits, deleted after it is gone."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from botocore.exceptions import BotoCoreError, ClientError
from celery import current_app
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from recognition.engines.base import S3Location
from recognition.exceptions import StorageUnavailable
from recognition.models import Image

logger = logging.getLogger(__name__)

#: What a storage raises when it will not do what it is asked: a disk's OSError, or S3's through boto.
STORAGE_ERRORS = (OSError, BotoCoreError, ClientError)
DELETE_FILES = "recognition.tasks.delete_files"  # queued by name: tasks depend on services, not the reverse
DELETE_AGAIN_SECONDS = 60


@contextmanager
def stored_file(*, image: Image, data: bytes, extension: str) -> Iterator[None]:
    """Save the bytes for ``image``; delete them again if the block fails, so no file outlives its row.
    ``StorageUnavailable`` when the storage refuses them (a full or read-only disk, S3 unreachable)."""
    intended = f"images/{timezone.now():%Y/%m}/{image.pk}.{extension}"
    with stored_as(intended, ContentFile(data), kind="image", key=image.pk) as name:
        image.file.name = name
        yield


@contextmanager
def stored_as(intended: str, content: File[bytes], *, kind: str, key: object) -> Iterator[str]:
    """Save ``content`` under (about) ``intended`` and give the name it got; delete it again if the block
    fails. ``StorageUnavailable``, naming the ``kind`` of file, when the storage refuses it."""
    try:
        name = default_storage.save(intended, content)
    except STORAGE_ERRORS as exc:
        with suppress(Exception):  # a partly written file (a disk that filled up mid-write) must not stay
            default_storage.delete(intended)
        logger.error("Could not store %s %s: %s", kind, key, exc)
        raise StorageUnavailable(
            f"The {kind} could not be stored ({getattr(exc, 'strerror', None) or exc}); nothing was kept. "
            "Try again later."
        ) from exc
    try:
        yield name
    except BaseException:  # what failed is what is reported; a deletion the storage refuses waits for later
        files_delete(names=[name], again_later=True)
        raise


def delete_files_after_commit(*, names: list[str]) -> None:
    """Remove stored files once the rows that name them are gone for good (not if the transaction rolls back).
    Those the storage will not delete now (a read-only disk, an unreachable S3) are left to a task that tries
    again: the rows are gone, so nothing else would ever find them, and they may be an erased person's face."""
    transaction.on_commit(lambda: files_delete(names=names, again_later=True))


def delete_again_in(*, refusals: int) -> int:
    """Seconds to wait before deleting again after the storage refused ``refusals`` times: 1 min, 2, 4, …,
    then every hour."""
    return int(min(3600, DELETE_AGAIN_SECONDS * 2 ** min(max(refusals - 1, 0), 12)))


def files_delete(*, names: list[str], again_later: bool = False) -> list[str]:
    """Delete each stored file named; give those the storage refused (logged), with ``again_later`` handed to
    the ``delete_files`` task to try again."""
    left = []
    for name in names:
        try:
            default_storage.delete(name)
        except STORAGE_ERRORS as exc:
            logger.warning("Could not delete %s from storage now: %s", name, exc)
            left.append(name)
    if left and again_later:
        try:
            current_app.send_task(DELETE_FILES, args=[left], countdown=delete_again_in(refusals=1))
        except Exception:  # the broker down too: said loudly, with the names to delete by hand
            logger.exception("Could not queue the deletion of %s: delete them from storage by hand", left)
    return left


def s3_location(*, image: Image) -> S3Location | None:
    """Where the image's file is in S3, when it is stored there (django-storages' S3 backend)."""
    return file_s3_location(image.file)


def file_s3_location(file: FieldFile) -> S3Location | None:
    """Where a stored file is in S3, when it is stored there (django-storages' S3 backend)."""
    from storages.backends.s3 import S3Storage
    from storages.utils import clean_name

    storage = file.storage
    if not file or not isinstance(storage, S3Storage):
        return None
    region = storage.region_name or storage.connection.meta.client.meta.region_name
    # The object key as django-storages writes it (with the storage's location prefix).
    return S3Location(bucket=storage.bucket_name, key=storage._normalize_name(clean_name(file.name)), region=region)
