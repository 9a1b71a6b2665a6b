"""Subject access: everything Facesite holds about one person, as one zip file for them to read.

Their record, their reference photos, the faces matched to them with what the engine estimated (age,
gender, expression), and their badge checks. Sightings come as crops of their own face only: the photos
they were seen in may show other people, whose data is not theirs to receive. Face templates (the
numbers faces are compared by) are described, not included: they mean nothing to a person.
"""

from __future__ import annotations

import json
import tempfile
import time
import zipfile
from typing import IO, Any

from django.utils import timezone

from recognition.audit import Actor, audit_record
from recognition.exceptions import FileMissing, Unprocessable
from recognition.models import AuditEvent, Face, Person, Verification
from recognition.services.access import require_permission
from recognition.services.attribute_words import attributes_in_words
from recognition.services.thumbnails import face_crop, face_photo

EXPORT = "recognition.export_person"
ZIP = "application/zip"
SIGHTING_CROP = 160  # one of thumbnails.FACE_CROP_SIZES, which erasure deletes
IN_MEMORY_UP_TO = 16 * 1024 * 1024  # larger exports spill to a temporary file


TOO_SLOW = (
    "It took longer than a worker's task may (FACESITE_EXPORT_TIME_LIMIT, from CELERY_VISIBILITY_TIMEOUT). Make it "
    "on the server with manage.py export_person."
)


class ExportTooSlow(Exception):
    """The export would not be made before its deadline."""

    def __init__(self) -> None:
        super().__init__(TOO_SLOW)


def person_export(
    *, person: Person, actor: Actor = None, client_ip: str | None = None, most_sightings: int | None = None,
    deadline: float | None = None, **audit_details: str,
) -> IO[bytes]:  # fmt: skip
    """The zip file, read from its start. Audited as ``person.export`` with what it holds (and
    ``audit_details``). With ``most_sightings`` (a web request's, ``FACESITE_EXPORT_WEB_MAX_SIGHTINGS``), a
    person seen more often is refused (``Unprocessable``, ``export_too_large``) before any work: each
    sighting's crop is cut from its photo, and a web server would end the request before the zip is made.
    Past ``deadline`` (``time.monotonic()``), ``ExportTooSlow``: a worker's task may not run for ever."""
    require_permission(actor, EXPORT, to="export a person's data")
    references = list(Face.objects.references().filter(person=person).select_related("image", "collection"))
    sightings = list(
        Face.objects.sightings().filter(person=person).select_related("image__collection").order_by("image__created_at")
    )
    if most_sightings is not None and len(sightings) > most_sightings:
        raise Unprocessable(
            f"{person} has been seen {len(sightings):,} times, more than an export made while you wait holds "
            f"({most_sightings:,}, FACESITE_EXPORT_WEB_MAX_SIGHTINGS): have it made in the background "
            f"(POST /api/people/{person.pk}/exports/), or on the server with "
            f"manage.py export_person {person.external_id or person.pk}.", code="export_too_large",
        )  # fmt: skip
    checks = list(Verification.objects.filter(person=person).order_by("created_at"))
    out = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_UP_TO)  # noqa: SIM115 - the caller closes it
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("README.txt", _readme(person, len(references), len(sightings), len(checks)))
            _write_json(archive, "person.json", _person(person))
            _write_json(archive, "reference-faces.json", [_reference(archive, face) for face in references])
            _write_json(archive, "sightings.json", [_sighting(archive, face, deadline) for face in sightings])
            _write_json(archive, "badge-checks.json", [_check(check) for check in checks])
    except BaseException:
        out.close()
        raise
    audit_record(actor=actor, action=AuditEvent.Action.PERSON_EXPORT, target=person, client_ip=client_ip,
                 reference_faces=len(references), sightings=len(sightings), badge_checks=len(checks),
                 **audit_details)  # fmt: skip
    out.seek(0)
    return out


def export_filename(person: Person) -> str:
    """What to call a person's export: their badge (or id) and the day, e.g. ``facesite-B-1-2026-12-06.zip``."""
    return f"facesite-{person.external_id or person.pk}-{timezone.localdate():%Y-%m-%d}.zip"


def _person(person: Person) -> dict[str, Any]:
    return {
        "id": str(person.pk), "name": person.name, "external_id": person.external_id, "notes": person.notes,
        "consent_given_at": _when(person.consent_given_at), "watched": person.watched,
        "created_at": _when(person.created_at), "updated_at": _when(person.updated_at),
    }  # fmt: skip


def _reference(archive: zipfile.ZipFile, face: Face) -> dict[str, Any]:
    photo = _picture(archive, f"reference-faces/{face.pk}.jpg", lambda: face_photo(face))
    return {"id": str(face.pk), "collection": face.collection.name if face.collection else None,
            "enrolled_at": _when(face.created_at), "photo": photo}  # fmt: skip


def _sighting(archive: zipfile.ZipFile, face: Face, deadline: float | None) -> dict[str, Any]:
    if deadline is not None and time.monotonic() > deadline:
        raise ExportTooSlow
    image = face.image
    photo = _picture(archive, f"sightings/{face.pk}.jpg", lambda: face_crop(face, size=SIGHTING_CROP))
    return {
        "id": str(face.pk), "photo": photo, "image": str(image.pk), "file_name": image.original_filename,
        "collection": image.collection.name if image.collection else None, "uploaded_at": _when(image.created_at),
        "similarity": face.similarity, "review": face.review_state,
        "box": {"left": face.left, "top": face.top, "width": face.width, "height": face.height},
        "estimated": attributes_in_words(face.attributes or {}), "estimated_as_stored": face.attributes,
    }  # fmt: skip


def _check(check: Verification) -> dict[str, Any]:
    return {
        "at": _when(check.created_at), "badge": check.external_id, "outcome": check.outcome, "match": check.match,
        "similarity": check.similarity, "threshold": check.threshold, "device": check.device or None,
        "liveness": check.liveness or None,
    }  # fmt: skip


def _picture(archive: zipfile.ZipFile, name: str, make: Any) -> str | None:
    """``name`` in the archive, or None when the photo is missing from storage (said in README.txt)."""
    try:
        archive.writestr(name, make())
    except FileMissing:
        return None
    return name


def _write_json(archive: zipfile.ZipFile, name: str, value: Any) -> None:
    archive.writestr(name, json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def _when(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def _readme(person: Person, references: int, sightings: int, checks: int) -> str:
    return f"""What Facesite holds about {person.name}, exported on {timezone.now():%Y-%m-%d %H:%M} UTC.

person.json           the record: name, badge or employee code (external_id), notes, when consent was given
reference-faces.json  the {references} photo(s) their face is recognised from, in reference-faces/
sightings.json        the {sightings} face(s) matched to them in uploaded images and videos: when, how sure
                      (similarity, 0-100), whether a person confirmed it (review), and what the engine
                      estimated (age range, gender, expression, and so on; "estimated_as_stored" holds
                      the same as Facesite keeps it); each face's crop is in sightings/
badge-checks.json     the {checks} badge check(s) made for them: when, where (device), the outcome

Only their own face is included from each image: the images may show other people.
A photo entry is null where the picture is missing from storage.
For each reference face, Facesite also keeps a face template (a list of numbers computed from the photo,
which faces are compared by); it is not included, as it means nothing read on its own.
"""
