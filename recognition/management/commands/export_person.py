"""``manage.py export_person``: everything held about one person, as a zip file (a subject access request)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recognition.models import Person
from recognition.services.subject_access import export_filename, person_export


class Command(BaseCommand):
    help = (
        "Write everything Facesite holds about one person (found by external id or id) to a zip file: their "
        "record, reference photos, the faces matched to them, their badge checks. Audited as person.export."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("person", help="The person's external id (badge or employee code), or their id.")
        parser.add_argument("-o", "--output", type=Path, help="The zip file to write (default: in this folder).")

    def handle(self, *args: Any, person: str, output: Path | None, **options: Any) -> None:
        found = _person(person)
        target = Path(output or export_filename(found))
        if target.exists():
            raise CommandError(f"{target} exists already; name another file with --output.")
        with person_export(person=found) as archive, target.open("xb") as out:
            shutil.copyfileobj(archive, out)
        self.stdout.write(f"Wrote everything held about {found} to {target} ({target.stat().st_size:,} bytes).")


def _person(key: str) -> Person:
    found = Person.objects.filter(external_id=key).first()
    if found is None:
        try:
            found = Person.objects.filter(pk=uuid.UUID(key)).first()
        except ValueError:
            found = None
    if found is None:
        raise CommandError(f"No person has the external id or id {key!r}.")
    return found
