"""Imports in bulk, each item through the service the API uses, one photo in memory at a time.

People: from a folder tree (``<external id>/<photos>``) or a CSV file (``external_id,name,photo`` with a
path or an http(s) URL per line, and optionally ``consent_given_at``), each photo enrolled with
``person_enroll``. A re-run continues where an interrupted one stopped: people are found by external id,
and a photo whose bytes are already one of that person's reference photos in the collection is skipped.

Images: from a folder tree, or a text file with a path or URL per line, each uploaded with
``image_upload`` (or ``image_ingest_url``, the worker fetching it) and queued for analysis. Bytes already
uploaded to the collection, and URLs already imported into it, are skipped.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from recognition.audit import Actor
from recognition.engines.imaging import HEIF_REFUSED
from recognition.exceptions import FacesiteError
from recognition.fetch import FetchRefused, fetch_image_bytes
from recognition.models import Collection, Face, Image, Person
from recognition.services.ingest import image_find_duplicate, image_ingest_url, image_upload
from recognition.services.people import person_enroll, person_save

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
CSV_COLUMNS = ("external_id", "name", "photo")
CSV_DELIMITERS = (",", ";", "\t")
#: How lists are read unless told otherwise: UTF-8, with or without the mark Excel's "CSV UTF-8" begins with.
DEFAULT_ENCODING = "utf-8-sig"


@dataclass(frozen=True)
class PhotoToImport:
    external_id: str
    name: str
    photo: str  # a file's path or a URL
    consent_given_at: datetime | None = None  # recorded on the person when none is on record yet

    @property
    def is_url(self) -> bool:
        return _is_url(self.photo)

    def __str__(self) -> str:
        return f"{self.external_id}: {self.photo}"


@dataclass(frozen=True)
class Outcome:
    item: str  # what it was about: a person's photo, an image's path or URL
    result: str  # ENROLLED, QUEUED, SKIPPED, REFUSED, WOULD_ENROL or WOULD_QUEUE
    reason: str = ""


ENROLLED, QUEUED, SKIPPED, REFUSED = "enrolled", "queued", "skipped", "refused"
WOULD_ENROL, WOULD_QUEUE = "would enrol", "would queue"


class ImportSourceError(FacesiteError):
    """The folder or CSV file cannot be read as a list of people's photos."""

    code = "import_source"


def photos_in(source: Path, *, encoding: str = DEFAULT_ENCODING) -> Iterator[PhotoToImport]:
    """The photos a CSV file lists, or those of a folder tree."""
    return photos_in_csv(source, encoding=encoding) if source.suffix.lower() == ".csv" else photos_in_folder(source)


def photos_in_folder(root: Path) -> Iterator[PhotoToImport]:
    """``root/<external id>/<photo>``: each sub-folder is a person, named by it until renamed."""
    if not root.is_dir():
        raise ImportSourceError(f"{root} is not a folder.")
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for photo in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES):
            yield PhotoToImport(external_id=folder.name, name=folder.name, photo=str(photo))


def photos_in_csv(path: Path, *, encoding: str = DEFAULT_ENCODING) -> Iterator[PhotoToImport]:
    """A CSV whose header names the columns ``external_id``, ``name`` and ``photo``, in any order (others are
    ignored; ``consent_given_at``, a date or a date and time, is read when there), separated by commas,
    semicolons or tabs as spreadsheets save them; relative photo paths are read beside the file."""
    with io.StringIO(text_of(path, encoding=encoding), newline="") as stream:
        header = stream.readline()
        stream.seek(0)
        delimiter = max(CSV_DELIMITERS, key=header.count)  # the one the header is split by
        reader = csv.DictReader(stream, delimiter=delimiter)
        reader.fieldnames = [name.strip() for name in reader.fieldnames or ()]
        if missing := [c for c in CSV_COLUMNS if c not in reader.fieldnames]:
            raise ImportSourceError(
                f"{path} needs a header naming the columns {', '.join(CSV_COLUMNS)}; it has no "
                f"{', '.join(missing)} (its header: {header.strip() or 'empty'})."
            )
        for line, row in enumerate(reader, start=2):
            external_id, name, photo = (str(row.get(c) or "").strip() for c in CSV_COLUMNS)
            if not (external_id and name and photo):
                raise ImportSourceError(f"{path}, line {line}: external_id, name and photo are all needed.")
            if not _is_url(photo):
                photo = str((path.parent / photo).resolve())
            consent = str(row.get("consent_given_at") or "").strip()
            consent_at = _moment(consent, where=f"{path}, line {line}") if consent else None
            yield PhotoToImport(external_id=external_id, name=name, photo=photo, consent_given_at=consent_at)


def _moment(text: str, *, where: str) -> datetime:
    """``2026-12-06`` (the start of that day, in TIME_ZONE) or ``2026-12-06 09:30`` (ISO 8601, with or without
    an offset) as an aware datetime."""
    try:
        moment = parse_datetime(text)
        day = None if moment else parse_date(text)
    except ValueError:  # the shape of a date, not a day of the calendar
        moment = day = None
    if day is not None:
        moment = datetime.combine(day, time())
    if moment is None:
        raise ImportSourceError(f"{where}: consent_given_at {text!r} is not a date (2026-12-06, 2026-12-06 09:30).")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def import_photo(item: PhotoToImport, *, collection: Collection, actor: Actor = None, dry_run: bool = False) -> Outcome:
    """Enrol one photo of one person (made if new); what happened, and why when it was refused."""
    try:
        data = fetch_image_bytes(item.photo) if item.is_url else Path(item.photo).read_bytes()
    except FetchRefused as exc:
        return Outcome(str(item), REFUSED, exc.message)
    except OSError as exc:
        return Outcome(str(item), REFUSED, f"cannot be read: {exc.strerror}")
    person = Person.objects.filter(external_id=item.external_id).first()
    if person is not None and _already_enrolled(person, data, collection):
        return Outcome(str(item), SKIPPED, "already enrolled")
    if dry_run:
        return Outcome(str(item), WOULD_ENROL)
    try:
        person = person or _person(item, actor)
        if item.consent_given_at and person.consent_given_at is None:
            person_save(person=person, changes={"consent_given_at": item.consent_given_at}, actor=actor, via="import")
        person_enroll(person=person, data=data, collection=collection, uploaded_by=actor,
                      filename=Path(item.photo).name, via="import")  # fmt: skip
    except FacesiteError as exc:  # no single face, not an image, too large, the engine busy: as the API says
        return Outcome(str(item), REFUSED, exc.message)
    return Outcome(str(item), ENROLLED)


def _already_enrolled(person: Person, data: bytes, collection: Collection) -> bool:
    sha256 = hashlib.sha256(data).hexdigest()
    return Face.objects.references().filter(person=person, collection=collection, image__sha256=sha256).exists()


def _person(item: PhotoToImport, actor: Actor) -> Person:
    """The person with this external id, made now if no one has it (another worker may make them first)."""
    try:
        with transaction.atomic():
            changes: dict[str, object] = {"external_id": item.external_id, "name": item.name}
            if item.consent_given_at:
                changes["consent_given_at"] = item.consent_given_at
            return person_save(person=Person(), changes=changes, actor=actor, via="import")
    except IntegrityError:
        return Person.objects.get(external_id=item.external_id)


#: Files no one means as photos, which a folder's import passes over without a word (as hidden ones).
SYSTEM_FILES = {"thumbs.db", "desktop.ini"}
HEIF_SUFFIXES = {".heic", ".heif"}


def left_out(root: Path, *, read: Iterable[str], elsewhere: str) -> list[tuple[str, str]]:
    """The files of the folder tree ``root`` an import of it does not read (``read``: those it does), each
    with why: HEIC, not a photo by its name, or ``elsewhere`` (a photo where the import does not look).
    Hidden and system files are passed over."""
    taken, found = set(read), []
    for path in sorted(root.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
        if not path.is_file() or hidden or path.name.lower() in SYSTEM_FILES or str(path) in taken:
            continue
        if path.suffix.lower() in HEIF_SUFFIXES:
            found.append((str(path), HEIF_REFUSED))
        elif path.suffix.lower() not in PHOTO_SUFFIXES:
            found.append((str(path), f"not a photo by its name (read: {', '.join(sorted(PHOTO_SUFFIXES))})"))
        else:
            found.append((str(path), elsewhere))
    return found


def images_in(source: Path, *, encoding: str = DEFAULT_ENCODING) -> Iterator[str]:
    """The photos of a folder tree, or the paths and URLs a text file lists (one a line; blank lines and
    lines starting with # are skipped; relative paths are read beside the file)."""
    if source.is_dir():
        yield from (str(p) for p in sorted(source.rglob("*")) if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
        return
    for line in (raw.strip() for raw in text_of(source, encoding=encoding).splitlines()):
        if line and not line.startswith("#"):
            yield line if _is_url(line) else str((source.parent / line).resolve())


def text_of(path: Path, *, encoding: str) -> str:
    """A list's whole text (people's and images' lists are small); a clear error, naming the line, for a file
    that is not in ``encoding``, instead of names read wrong."""
    try:
        codecs.lookup(encoding)
        data = path.read_bytes()
    except LookupError as exc:
        raise ImportSourceError(f"There is no encoding called {encoding!r} (utf-8, cp1252, latin-1, …).") from exc
    except OSError as exc:
        raise ImportSourceError(f"{path} cannot be read: {exc.strerror}.") from exc
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportSourceError(
            f"{path}, line {line}: not {'UTF-8' if encoding == DEFAULT_ENCODING else encoding} text (byte "
            f"0x{data[exc.start]:02x}). Save it as UTF-8 (Excel: CSV UTF-8), or name its encoding with --encoding "
            f"(cp1252 for Excel's plain CSV on Windows in Western Europe)."
        ) from exc


def import_image(
    item: str, *, collection: Collection, features: list[str] | None = None, actor: Actor = None,
    dry_run: bool = False,
) -> Outcome:  # fmt: skip
    """Upload one image (a path) or commit it for the worker to fetch (a URL), queued for analysis."""
    if _is_url(item):
        if Image.objects.filter(source=Image.Source.URL, source_url=item, collection=collection).exists():
            return Outcome(item, SKIPPED, "already imported")
        if dry_run:
            return Outcome(item, WOULD_QUEUE)
        try:
            image_ingest_url(url=item, uploaded_by=actor, features=features, collection=collection)
        except FacesiteError as exc:
            return Outcome(item, REFUSED, exc.message)
        return Outcome(item, QUEUED)
    try:
        data = Path(item).read_bytes()
    except OSError as exc:
        return Outcome(item, REFUSED, f"cannot be read: {exc.strerror}")
    if image_find_duplicate(sha256=hashlib.sha256(data).hexdigest(), collection=collection):
        return Outcome(item, SKIPPED, "already uploaded")
    if dry_run:
        return Outcome(item, WOULD_QUEUE)
    try:
        image_upload(data=data, source=Image.Source.IMPORT, filename=Path(item).name, uploaded_by=actor,
                     features=features, collection=collection)  # fmt: skip
    except FacesiteError as exc:
        return Outcome(item, REFUSED, exc.message)
    return Outcome(item, QUEUED)


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))
