"""``manage.py demo``: something to look at in the back office, from the public-domain photos in tests/fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from recognition.exceptions import FacesiteError
from recognition.models import Face, Person
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_upload
from recognition.services.people import person_enroll, person_save
from recognition.services.review import face_flag_for_review

PHOTOS = Path(settings.BASE_DIR) / "tests" / "fixtures"
PEOPLE = [("Barack Obama", "B-0044", "obama.jpg"), ("Joe Biden", "B-0046", "biden.jpg")]
UPLOADS = ["obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.png", "messi5.jpg", "dog.jpg", "kite.jpg",
           "scenetext01.jpg"]  # fmt: skip
FEATURES = ["labels", "faces", "text", "moderation", "properties"]


class Command(BaseCommand):
    help = (
        "Enrol two people and analyse the test photos (credits in tests/fixtures/CREDITS.md), so the back office "
        "has images, identified faces, text and a face to review. Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for name, badge, photo in PEOPLE:
            person = Person.objects.filter(external_id=badge).first()
            if person is None:
                person = person_save(person=Person(), changes={"name": name, "external_id": badge}, actor=None,
                                     via="demo")  # fmt: skip
            if not person.faces.references().exists():
                person_enroll(person=person, data=(PHOTOS / photo).read_bytes(), filename=photo, via="demo")
            self.stdout.write(f"Enrolled {person}.")
        for number, name in enumerate(UPLOADS, start=1):
            upload = image_upload(data=(PHOTOS / name).read_bytes(), filename=name, features=FEATURES)
            try:
                image = image_analyse(image_id=upload.image.pk) or upload.image
            except FacesiteError as exc:
                self.stdout.write(self.style.WARNING(f"  {name}: {exc.message}"))
                continue
            image.refresh_from_db()
            people = sorted({f.person.name for f in image.faces.select_related("person") if f.person})
            self.stdout.write(f"[{number}/{len(UPLOADS)}] {name}: {image.status}, {image.faces.count()} face(s)"
                              + (f", {', '.join(people)}" if people else ""))  # fmt: skip
        # The photos match too clearly (or not at all) to fill the review queue by themselves: one face an
        # operator would want a second look at goes there, as anyone can send it from the image's page.
        strangers = Face.objects.sightings().filter(person__isnull=True).order_by("image__original_filename")
        unknown = strangers.filter(image__original_filename="messi5.jpg").first() or strangers.first()
        if unknown is not None and not Face.objects.to_review().exists():
            face_flag_for_review(face=unknown, actor=None)
        self.stdout.write(self.style.SUCCESS(
            f"Done: {Face.objects.to_review().count()} face(s) to review. Sign in at /admin/ (make a user with "
            "manage.py createsuperuser; an authenticator app on your phone gives the code asked after the "
            "password, or set FACESITE_TWO_STEP_REQUIRED=false to try without one)."
        ))  # fmt: skip
