"""Stored files whose life follows their rows: saved before the row commits, deleted after it is gone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from recognition.models import Image


@contextmanager
def stored_file(*, image: Image, data: bytes, extension: str) -> Iterator[None]:
    """Save the bytes for ``image``; delete them again if the block fails, so no file outlives its row."""
    name = default_storage.save(f"images/{timezone.now():%Y/%m}/{image.pk}.{extension}", ContentFile(data))
    image.file.name = name
    try:
        yield
    except BaseException:
        default_storage.delete(name)
        raise


def delete_files_after_commit(*, names: list[str]) -> None:
    """Remove stored files once the rows that name them are gone for good (not if the transaction rolls back)."""

    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete)
