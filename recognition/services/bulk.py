"""Enrolling people in bulk: from a folder tree (``<external id>/<photos>``) or a CSV file
(``external_id,name,photo`` with a path or an http(s) URL per line).

Each photo goes through ``person_enroll``, as an upload through the API would, one photo in memory at a
time. A re-run continues where an interrupted one stopped: people are found by external id, and a photo
whose bytes are already one of that person's reference photos in the collection is skipped.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction

from recognition.audit import Actor
from recognition.exceptions import FacesiteError
from recognition.fetch import FetchRefused, fetch_image_bytes
from recognition.models import Collection, Face, Person
from recognition.services.people import person_enroll, person_save

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
CSV_COLUMNS = ("external_id", "name", "photo")


@dataclass(frozen=True)
class PhotoToImport:
    external_id: str
    name: str
    photo: str  # a file's path or a URL

    @property
    def is_url(self) -> bool:
        return self.photo.startswith(("http://", "https://"))


@dataclass(frozen=True)
class Outcome:
    item: PhotoToImport
    result: str  # ENROLLED, SKIPPED, REFUSED or WOULD_ENROL
    reason: str = ""


ENROLLED, SKIPPED, REFUSED, WOULD_ENROL = "enrolled", "skipped", "refused", "would enrol"


class ImportSourceError(FacesiteError):
    """The folder or CSV file cannot be read as a list of people's photos."""

    code = "import_source"


def photos_in(source: Path) -> Iterator[PhotoToImport]:
    """The photos a CSV file lists, or those of a folder tree."""
    return photos_in_csv(source) if source.suffix.lower() == ".csv" else photos_in_folder(source)


def photos_in_folder(root: Path) -> Iterator[PhotoToImport]:
    """``root/<external id>/<photo>``: each sub-folder is a person, named by it until renamed."""
    if not root.is_dir():
        raise ImportSourceError(f"{root} is not a folder.")
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for photo in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES):
            yield PhotoToImport(external_id=folder.name, name=folder.name, photo=str(photo))


def photos_in_csv(path: Path) -> Iterator[PhotoToImport]:
    """A CSV with the header ``external_id,name,photo``; relative photo paths are read beside the file."""
    try:
        stream = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ImportSourceError(f"{path} cannot be read: {exc.strerror}.") from exc
    with stream:
        reader = csv.DictReader(stream)
        if tuple(reader.fieldnames or ())[:3] != CSV_COLUMNS:
            raise ImportSourceError(f"{path} must start with the header {','.join(CSV_COLUMNS)}.")
        for line, row in enumerate(reader, start=2):
            external_id, name, photo = (str(row.get(c) or "").strip() for c in CSV_COLUMNS)
            if not (external_id and name and photo):
                raise ImportSourceError(f"{path}, line {line}: external_id, name and photo are all needed.")
            if not photo.startswith(("http://", "https://")):
                photo = str((path.parent / photo).resolve())
            yield PhotoToImport(external_id=external_id, name=name, photo=photo)


def import_photo(item: PhotoToImport, *, collection: Collection, actor: Actor = None, dry_run: bool = False) -> Outcome:
    """Enrol one photo of one person (made if new); what happened, and why when it was refused."""
    try:
        data = fetch_image_bytes(item.photo) if item.is_url else Path(item.photo).read_bytes()
    except FetchRefused as exc:
        return Outcome(item, REFUSED, exc.message)
    except OSError as exc:
        return Outcome(item, REFUSED, f"cannot be read: {exc.strerror}")
    person = Person.objects.filter(external_id=item.external_id).first()
    if person is not None and _already_enrolled(person, data, collection):
        return Outcome(item, SKIPPED, "already enrolled")
    if dry_run:
        return Outcome(item, WOULD_ENROL)
    try:
        person = person or _person(item, actor)
        person_enroll(person=person, data=data, collection=collection, uploaded_by=actor,
                      filename=Path(item.photo).name, via="import")  # fmt: skip
    except FacesiteError as exc:  # no single face, not an image, too large, the engine busy: as the API says
        return Outcome(item, REFUSED, exc.message)
    return Outcome(item, ENROLLED)


def _already_enrolled(person: Person, data: bytes, collection: Collection) -> bool:
    sha256 = hashlib.sha256(data).hexdigest()
    return Face.objects.references().filter(person=person, collection=collection, image__sha256=sha256).exists()


def _person(item: PhotoToImport, actor: Actor) -> Person:
    """The person with this external id, made now if no one has it (another worker may make them first)."""
    try:
        with transaction.atomic():
            return person_save(person=Person(), changes={"external_id": item.external_id, "name": item.name},
                               actor=actor, via="import")  # fmt: skip
    except IntegrityError:
        return Person.objects.get(external_id=item.external_id)
