"""``manage.py demo`` fills the back office with something to see, review queue included, and can run twice."""

from io import StringIO

import pytest
from django.core.management import call_command

from recognition.models import Face, Image, Person

pytestmark = pytest.mark.django_db


def test_demo_data_has_identified_faces_text_and_a_face_to_review(settings):
    settings.RECOGNITION_ENGINE = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}
    settings.FACESITE_ENROL_MIN_FACE_PIXELS = 60
    out = StringIO()
    call_command("demo", stdout=out)
    assert Person.objects.filter(external_id__in=["B-0044", "B-0046"]).count() == 2
    assert Image.objects.exclude(source=Image.Source.ENROLMENT).filter(status="done").count() == 8
    assert Face.objects.sightings().filter(person__name="Barack Obama").count() >= 2
    assert Image.objects.filter(text_detections__isnull=False).exists()
    assert Face.objects.to_review().count() >= 1
    assert "[8/8]" in out.getvalue()

    call_command("demo", stdout=StringIO())  # again: nothing doubled
    assert Image.objects.exclude(source=Image.Source.ENROLMENT).count() == 8
    assert Face.objects.references().count() == 2
