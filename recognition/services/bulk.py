"""Imports in bulk, each item through the service the API uses, one photo in memory at a time.

People: from a folder tree (``<external id>/<photos>``), the same tree under an S3 prefix
(``s3://bucket/prefix/``), or a CSV file (``external_id,name,photo`` with a path, an http(s) URL or an
``s3://`` object per line, and optionally ``consent_given_at``), each photo enrolled with
``person_enroll``. A re-run continues where an interrupted one stopped: people are found by external id,
and a photo whose bytes are already one of that person's reference photos in the collection is skipped.

Images: from a folder tree or an S3 prefix, or a text file with a path, URL or ``s3://`` object per line,
each uploaded with ``image_upload`` (or ``image_ingest_url``, the worker fetching it) and queued for
analysis. Bytes already uploaded to the collection, and URLs already imported into it, are skipped.

S3 is read with Facesite's own credentials, from the S3 the Rekognition-compatible API reads (its endpoint
setting): whoever runs an import has the server's shell, and may name any bucket those reach.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from recognition.audit import Actor
from recognition.engines.imaging import HEIF_REFUSED
from recognition.exceptions import FacesiteError
from recognition.fetch import FetchRefused, fetch_image_bytes
from recognition.models import Collection, Face, Image, Person
from recognition.s3_objects import S3Object, is_s3, s3_bytes, s3_listed
from recognition.services.ingest import image_find_duplicate, image_ingest_url, image_upload
from recognition.services.people import person_enroll, person_save

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
CSV_COLUMNS = ("external_id", "name", "photo")
CSV_DELIMITERS = (",", ";", "\t")
#: How lists are read unless told otherwise: UTF-8, with or without the mark Excel's "CSV UTF-8" begins with.
DEFAULT_ENCODING = "utf-8-sig"
#: A folder tree's or an S3 prefix's files, each as its path (or s3:// URL) and its path's parts below the source.
Listing = list[tuple[str, tuple[str, ...]]]


@dataclass(frozen=True)
class PhotoToImport:
    external_id: str
    name: str
    photo: str  # a file's path, a URL or an s3:// object
    consent_given_at: datetime | None = None  # recorded on the person when none is on record yet

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


def photos_in(
    source: str, *, encoding: str = DEFAULT_ENCODING, files: Listing | None = None
) -> Iterator[PhotoToImport]:
    """The photos a CSV file lists, or those of a folder tree, here or under an S3 prefix (``files``: its
    listing, if made already)."""
    files = files if files is not None else listed(source)
    if files is not None:
        return photos_in_tree(files)
    path = Path(source)
    if path.suffix.lower() != ".csv":
        raise ImportSourceError(f"{path} is not a folder, an S3 prefix or a .csv file.")
    return photos_in_csv(path, encoding=encoding)


def photos_in_tree(files: Listing) -> Iterator[PhotoToImport]:
    """A folder tree's or S3 prefix's ``<external id>/<photo>``: each sub-folder is a person, named by it until
    renamed. Hidden files and folders are passed over, as an image import passes them over."""
    for name, parts in files:
        if len(parts) == 2 and parts[0] and not hidden(parts) and _is_photo(parts[1]):
            yield PhotoToImport(external_id=parts[0], name=parts[0], photo=name)


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
            if not _is_remote(photo):
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
        data = _photo_bytes(item.photo)
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
                      filename=_file_name(item.photo), via="import")  # fmt: skip
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


def listed(source: str | Path) -> Listing | None:
    """Every file of the folder tree or S3 prefix ``source``, each with its path's parts below it; None for a
    list file. An import lists once: the photos it reads and the files it leaves out come from one listing
    (a large prefix takes a request for each thousand objects, and may change meanwhile)."""
    if is_s3(str(source)):
        return [(str(found), parts) for found, parts in _under(s3_prefix(str(source))) if parts[-1]]
    if Path(source).is_dir():
        root = Path(source)
        return [(str(path), path.relative_to(root).parts) for path in sorted(_files_under(root))]
    return None


def _files_under(root: Path) -> Iterator[Path]:
    """The files of a folder tree, through links to folders (a person's folder may be a link to a share), each
    folder read once however many links lead to it (so a link back up does not loop)."""
    seen: set[tuple[int, int]] = set()
    for folder, folders, files in os.walk(root, followlinks=True):
        here = os.stat(folder)
        if (here.st_dev, here.st_ino) in seen:
            folders.clear()
            continue
        seen.add((here.st_dev, here.st_ino))
        yield from (path for path in (Path(folder) / name for name in files) if path.is_file())


def left_out(
    source: str | Path, *, read: Iterable[str], elsewhere: str, files: Listing | None = None
) -> list[tuple[str, str]]:
    """The files of the folder tree or S3 prefix ``source`` (``files``: its listing, if made already) an
    import of it does not read (``read``: those it does), each with why: HEIC, not a photo by its name, or
    ``elsewhere`` (a photo where the import does not look). Hidden and system files are passed over; a list
    file leaves nothing out."""
    files = files if files is not None else listed(source)
    if files is None:
        return []
    taken, found = set(read), []
    for name, parts in files:
        if hidden(parts) or parts[-1].lower() in SYSTEM_FILES or name in taken:
            continue
        suffix = PurePosixPath(parts[-1]).suffix.lower()
        if suffix in HEIF_SUFFIXES:
            found.append((name, HEIF_REFUSED))
        elif suffix not in PHOTO_SUFFIXES:
            found.append((name, f"not a photo by its name (read: {', '.join(sorted(PHOTO_SUFFIXES))})"))
        else:
            found.append((name, elsewhere))
    return found


def images_in(source: str, *, encoding: str = DEFAULT_ENCODING, files: Listing | None = None) -> Iterator[str]:
    """The photos of a folder tree or an S3 prefix (``files``: its listing, if made already), or the paths,
    URLs and s3:// objects a text file lists (one a line; blank lines and lines starting with # are skipped;
    relative paths are read beside the file)."""
    files = files if files is not None else listed(source)
    if files is not None:
        yield from (name for name, parts in files if _is_photo(parts[-1]) and not hidden(parts))
        return
    path = Path(source)
    for line in (raw.strip() for raw in text_of(path, encoding=encoding).splitlines()):
        if line and not line.startswith("#"):
            yield line if _is_remote(line) else str((path.parent / line).resolve())


def s3_prefix(source: str) -> S3Object:
    """``s3://bucket/prefix`` as a folder: its key ends with ``/`` (or is empty, the whole bucket)."""
    prefix = S3Object.named(source)
    return S3Object(prefix.bucket, prefix.key + "/") if prefix.key and not prefix.key.endswith("/") else prefix


def _under(prefix: S3Object) -> Iterator[tuple[S3Object, tuple[str, ...]]]:
    """The objects under ``prefix``, each with its key's parts after it; ``ImportSourceError`` if S3 cannot
    list them."""
    try:
        for found in s3_listed(prefix):
            yield found, tuple(found.key[len(prefix.key) :].split("/"))
    except FetchRefused as exc:
        raise ImportSourceError(f"{prefix} cannot be listed: {exc.message}") from exc


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
        data = _photo_bytes(item)
    except FetchRefused as exc:
        return Outcome(item, REFUSED, exc.message)
    except OSError as exc:
        return Outcome(item, REFUSED, f"cannot be read: {exc.strerror}")
    if image_find_duplicate(sha256=hashlib.sha256(data).hexdigest(), collection=collection):
        return Outcome(item, SKIPPED, "already uploaded")
    if dry_run:
        return Outcome(item, WOULD_QUEUE)
    try:
        image_upload(data=data, source=Image.Source.IMPORT, filename=_file_name(item), uploaded_by=actor,
                     features=features, collection=collection)  # fmt: skip
    except FacesiteError as exc:
        return Outcome(item, REFUSED, exc.message)
    return Outcome(item, QUEUED)


def _photo_bytes(item: str) -> bytes:
    """A photo's bytes: fetched from a URL, read from S3 or from a file (``FetchRefused``, ``OSError``)."""
    if _is_url(item):
        return fetch_image_bytes(item)
    if is_s3(item):
        return s3_bytes(S3Object.named(item), limit=settings.FACESITE_MAX_UPLOAD_BYTES)
    return Path(item).read_bytes()


def _file_name(item: str) -> str:
    return S3Object.named(item).name if is_s3(item) else Path(item).name


def hidden(parts: tuple[str, ...]) -> bool:
    """A hidden file, or one in a hidden folder (a viewer's thumbnails, a trash): not the operator's photos."""
    return any(part.startswith(".") for part in parts)


def _is_photo(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in PHOTO_SUFFIXES


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _is_remote(text: str) -> bool:
    return _is_url(text) or is_s3(text)
