"""Enrolment and identification against the database with the real local engine, on each kind of face
search (the ``face_search`` fixture)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from recognition.exceptions import EnrolmentError
from recognition.models import Collection, Face, Image
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from tests.factories import PersonFactory
from tests.helpers import status_of, wait_for
from tests.images import FIXTURES, encode

pytestmark = pytest.mark.face_search

LOCAL = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}


def photo(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def local_engine(settings, face_search):
    settings.RECOGNITION_ENGINE = LOCAL


def analysed(name: str) -> Image:
    image = image_ingest(data=photo(name), filename=name)
    return image_analyse(image_id=image.pk)


@pytest.mark.django_db
def test_enrolled_person_is_identified_in_another_photo(local_engine):
    obama = PersonFactory(name="Barack Obama", external_id="B-44")
    reference = person_enroll(person=obama, data=photo("obama.jpg"))
    assert reference.engine == "local" and reference.model_version == "sface-2021dec-int8bq"
    assert reference.get_embedding().shape == (128,)

    image = analysed("obama2.jpg")
    face = image.faces.get()
    assert face.person == obama
    assert face.similarity > 80
    assert face.attributes["Gender"]["Value"] == "Male"
    assert image.labels.filter(name="Person").exists()
    assert image.engine == "local"

    stranger = analysed("biden.jpg").faces.get()
    assert stranger.person is None and stranger.candidate is None


@pytest.mark.django_db
def test_search_index_refreshes_when_someone_is_enrolled(local_engine):
    person_enroll(person=PersonFactory(name="Barack Obama"), data=photo("obama.jpg"))
    assert analysed("biden.jpg").faces.get().person is None  # the index for the collection is now built

    biden = PersonFactory(name="Joe Biden")
    person_enroll(person=biden, data=photo("biden.jpg"))
    assert analysed("biden.jpg").faces.get().person == biden


@pytest.mark.django_db
def test_collections_are_searched_separately(local_engine):
    staff = Collection.objects.create(name="staff")
    person_enroll(person=PersonFactory(), data=photo("obama.jpg"), collection=staff)
    image = image_analyse(image_id=image_ingest(data=photo("obama2.jpg")).pk)
    assert image.faces.get().person is None, "the default collection has nobody enrolled"


@pytest.mark.django_db
def test_enrolment_refuses_photos_without_exactly_one_face(local_engine):
    with pytest.raises(EnrolmentError) as no_face:
        person_enroll(person=PersonFactory(), data=photo("dog.jpg"))
    assert no_face.value.code == "no_face"

    group = PILImage.new("RGB", (800, 500), "white")
    for i, name in enumerate(["obama.jpg", "biden.jpg"]):
        group.paste(PILImage.open(io.BytesIO(photo(name))).convert("RGB").resize((400, 500)), (400 * i, 0))
    with pytest.raises(EnrolmentError) as several:
        person_enroll(person=PersonFactory(), data=encode(group, "JPEG"))
    assert several.value.code == "several_faces"
    assert not Face.objects.exists() and not Image.objects.exists()


@pytest.mark.slow
def test_upload_is_identified_end_to_end_by_a_worker_with_the_local_engine(local_engine, celery_worker, api_client):
    obama = PersonFactory(name="Barack Obama")
    person_enroll(person=obama, data=photo("obama.jpg"))
    response = api_client.post("/api/images/", {"file": SimpleUploadedFile("o3.jpg", photo("obama3.jpg"))})
    assert response.status_code == 202
    image_id = response.json()["id"]
    wait_for(lambda: status_of(image_id) in (Image.Status.DONE, Image.Status.FAILED), timeout=120)
    detail = api_client.get(f"/api/images/{image_id}/").json()
    assert detail["status"] == "done", detail["error"]
    [face] = detail["faces"]
    assert face["person"]["name"] == "Barack Obama" and face["similarity"] > 80
    assert detail["engine"] == "local"
