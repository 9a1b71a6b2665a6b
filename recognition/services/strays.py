"""Stray files: stored files no row names any more, found by walking the storage and removed only when asked.

Facesite stores a file before the row that names it commits, and deletes it once the row is gone. A file
outlives its row only when a process dies between the two, when the storage refused a deletion for longer
than the ``delete_files`` task tries again (about a day), or when an older version did not know to delete
it (the kiosk's 160 px face crops before erasure deleted every size). Such a file may be an erased person's
face, so ``manage.py stray_files`` finds them, and with ``--delete`` removes them, audited.

Each folder Facesite stores under says which of its files rows still name (``Held``): recognition's own
below, other apps' through ``strays_register`` (videos). Files in no registered folder, and files not named
the way Facesite names them, are never touched; nor is a file younger than the cutoff asked for, since an
upload's file is stored before its row commits.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from botocore.exceptions import ClientError
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db.models import Model
from django.utils import timezone

from recognition.audit import Actor, audit_record
from recognition.models import AuditEvent, Face, Image, PersonExport
from recognition.services.files import files_delete

logger = logging.getLogger(__name__)

#: Which of these names (all in one folder) a row still names, or are not Facesite's to judge: kept.
Held = Callable[[list[str]], set[str]]
BATCH = 500  # names asked about in one query
PROGRESS_EVERY = 1000  # files scanned between two progress reports


def held_in(model: type[Model], field: str = "file") -> Held:
    """``Held`` for files a model's file field names."""

    def held(names: list[str]) -> set[str]:
        return set(model._default_manager.filter(**{f"{field}__in": names}).values_list(field, flat=True))

    return held


def held_by_id(pattern: str, model: type[Model]) -> Held:
    """``Held`` for files named after a row's id: ``pattern`` matches the whole name and captures the id as
    ``id`` (``UUID``); names it does not match are kept."""
    compiled = re.compile(pattern)

    def held(names: list[str]) -> set[str]:
        ids = {name: uuid_in(name, compiled) for name in names}
        alive = set(model._default_manager.filter(pk__in={i for i in ids.values() if i}).values_list("pk", flat=True))
        return {name for name, id_ in ids.items() if id_ is None or id_ in alive}

    return held


UUID = r"(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"


def uuid_in(name: str, pattern: re.Pattern[str]) -> uuid.UUID | None:
    """The id ``pattern`` (with ``UUID`` in it) finds in the whole of ``name``, if it matches."""
    match = pattern.fullmatch(name)
    return uuid.UUID(match["id"]) if match else None


_folders: dict[str, Held] = {
    "images/": held_in(Image),
    "exports/": held_by_id(rf"exports/{UUID}\.zip", PersonExport),  # exports.py's names
    # thumbnails.py's names: thumbs/<image id>-<size>.jpg, thumbs/<image id>-clean.<jpg|png>,
    # thumbs/faces/<face id>-<size>.jpg
    "thumbs/": held_by_id(rf"thumbs/{UUID}-(\d+\.jpg|clean\.(jpg|png))", Image),
    "thumbs/faces/": held_by_id(rf"thumbs/faces/{UUID}-\d+\.jpg", Face),
}


def strays_register(folder: str, held: Held) -> None:
    """Have the stray files' search look in ``folder`` (``"videos/"``), asking ``held`` which files rows name.
    A registered folder inside it is searched on its own terms."""
    _folders[folder.rstrip("/") + "/"] = held


def folders() -> list[str]:
    return sorted(_folders)


@dataclass
class StraySearch:
    """What a search found: ``strays``, named by no row and older than the cutoff, with when each was last
    written; ``recent``, named by no row but too young to judge; ``scanned``, files looked at in each folder."""

    cutoff: datetime
    scanned: Counter[str] = field(default_factory=Counter)
    recent: list[str] = field(default_factory=list)
    strays: dict[str, datetime] = field(default_factory=dict)

    @property
    def kept(self) -> int:
        return self.scanned.total() - len(self.recent) - len(self.strays)


def strays_find(*, older_than: timedelta, progress: Callable[[int], None] | None = None) -> StraySearch:
    """Walk every registered folder for files no row names, written longer than ``older_than`` ago;
    ``progress`` is told how many files have been looked at, every ``PROGRESS_EVERY``."""
    search, reported = StraySearch(cutoff=timezone.now() - older_than), 0
    for folder in folders():
        for batch in _batches(stored_names(folder)):
            search.scanned[folder] += len(batch)
            kept = _folders[folder](batch)
            for name in batch:
                if name in kept:
                    continue
                written = _written(name)
                if written is None:  # deleted since it was listed
                    search.scanned[folder] -= 1
                elif written < search.cutoff:
                    search.strays[name] = written
                else:
                    search.recent.append(name)
            if progress and search.scanned.total() - reported >= PROGRESS_EVERY:
                reported = search.scanned.total()
                progress(reported)
    return search


def _written(name: str) -> datetime | None:
    """When the stored file was last written; None if it is gone."""
    try:
        return default_storage.get_modified_time(name)
    except FileNotFoundError:
        return None
    except ClientError as exc:  # S3
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
            return None
        raise


def stored_names(folder: str) -> Iterator[str]:
    """Every stored file in ``folder`` and its subfolders but registered ones (searched on their own), in
    name order. ``listdir`` lists a local folder and an S3 prefix alike."""
    try:
        subfolders, files = default_storage.listdir(folder)
    except FileNotFoundError:  # nothing stored there yet
        return
    yield from (folder + name for name in sorted(files))
    for name in sorted(subfolders):
        if f"{folder}{name}/" not in _folders:
            yield from stored_names(f"{folder}{name}/")


def _batches(names: Iterator[str]) -> Iterator[list[str]]:
    while batch := list(islice(names, BATCH)):
        yield batch


@dataclass(frozen=True)
class StraysDeleted:
    deleted: list[str]
    refused: list[str]  # the storage would not delete these now (logged): search again later
    named_again: list[str]  # a row names these now: kept


def strays_delete(*, names: list[str], actor: Actor, via: str = "") -> StraysDeleted:
    """Delete these files found stray, asking again first which a row names (those are kept); audited as one
    ``storage.strays.delete`` event with how many went from each folder, and ``via`` what."""
    by_folder: dict[str, list[str]] = {}
    for name in names:
        by_folder.setdefault(_folder_of(name), []).append(name)
    named: set[str] = set()
    for folder, in_folder in by_folder.items():
        for batch in _batches(iter(in_folder)):
            named |= _folders[folder](batch)
    refused = set(files_delete(names=[name for name in names if name not in named]))
    deleted = [name for name in names if name not in named and name not in refused]
    gone = Counter(_folder_of(name) for name in deleted)
    audit_record(
        actor=actor, action=AuditEvent.Action.STORAGE_STRAYS_DELETE, deleted=dict(sorted(gone.items())),
        refused=len(refused), via=via,
    )  # fmt: skip
    return StraysDeleted(deleted=deleted, refused=sorted(refused), named_again=sorted(named))


def _folder_of(name: str) -> str:
    """The registered folder whose rules judge ``name``: the deepest one it is in."""
    matches = [folder for folder in _folders if name.startswith(folder)]
    if not matches:
        raise ValueError(f"{name} is in no folder Facesite stores under ({', '.join(folders())}).")
    return max(matches, key=len)


LAST_CHECK = "facesite:strays:last-check"  # in the shared cache: what the periodic check found, for the dashboard


def strays_check() -> dict[str, object]:
    """Look for stray files written over a day ago and say what was found, deleting nothing: a warning in the
    log when there are any, and the last check's figures for the dashboard (``strays_last_check``)."""
    found = strays_find(older_than=timedelta(days=1))
    summary: dict[str, object] = {"at": timezone.now(), "strays": len(found.strays), "scanned": found.scanned.total()}
    cache.set(LAST_CHECK, summary, timeout=None)
    if found.strays:
        logger.warning(
            "%d stray files in storage, which no row names (%s …): manage.py stray_files lists them, and with "
            "--delete deletes them.", len(found.strays), ", ".join(list(found.strays)[:3]),
        )  # fmt: skip
    return summary


def strays_last_check() -> dict[str, object] | None:
    return cache.get(LAST_CHECK)  # type: ignore[no-any-return]
