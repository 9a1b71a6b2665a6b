"""Collections in the back office go through the services. Creating one is audited. Deleting one says what
goes, removes the reference faces and the photos kept for them, is audited, and is refused while anything
is filed under the collection."""

import pytest
from django.test import Client
from django.urls import reverse

from backoffice import roles
from integrations.models import Endpoint
from recognition.exceptions import Conflict
from recognition.models import AuditEvent, Collection, Face, Image, Person
from recognition.services.erasure import collection_delete
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from tests import images
from tests.factories import PersonFactory, UserFactory
from videos.models import Camera

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin() -> Client:
    client = Client()
    client.force_login(UserFactory(username="dana", is_staff=True, role=roles.ADMINISTRATOR))
    return client


@pytest.fixture
def lobby() -> Collection:
    """A collection with Ada's reference face in it, from a photo kept for that face."""
    lobby = Collection.objects.create(name="lobby")
    person_enroll(person=PersonFactory(name="Ada"), data=images.jpeg((160, 120), seed=5), collection=lobby)
    return lobby


def test_a_collection_added_in_the_back_office_is_audited(admin):
    response = admin.post(reverse("admin:recognition_collection_add"), {"name": "vip", "description": "VIP guests"})
    assert response.status_code == 302
    vip = Collection.objects.get(name="vip")
    assert vip.description == "VIP guests" and not vip.watched
    event = AuditEvent.objects.get(action=AuditEvent.Action.COLLECTION_CREATE)
    assert (event.actor_name, event.object_id, event.details["name"]) == ("dana", str(vip.pk), "vip")


def test_the_back_office_deletes_a_collection_with_its_reference_faces_and_audits_it(admin, lobby):
    url = reverse("admin:recognition_collection_delete", args=[lobby.pk])
    page = admin.get(url).content.decode()
    assert "lobby: 1 reference face(s) with their embeddings, the 1 photo(s) kept for them" in page
    assert admin.post(url, {"post": "yes"}).status_code == 302
    assert not Collection.objects.filter(name="lobby").exists()
    assert not Face.objects.filter(is_reference=True).exists() and not Image.objects.exists()
    assert Person.objects.filter(name="Ada").exists(), "people stay: only their faces in this collection go"
    event = AuditEvent.objects.get(action=AuditEvent.Action.COLLECTION_DELETE)
    assert event.actor_name == "dana" and event.details["faces"] == 1


def test_deleting_from_the_list_goes_through_the_same_service(admin, lobby):
    response = admin.post(
        reverse("admin:recognition_collection_changelist"),
        {"action": "delete_selected", "_selected_action": [lobby.pk], "post": "yes"},
    )
    assert response.status_code == 302 and not Collection.objects.filter(name="lobby").exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.COLLECTION_DELETE).count() == 1


def test_a_collection_still_used_is_kept_and_the_page_says_by_what(admin, lobby):
    image_ingest(data=images.jpeg((160, 120), seed=6), collection=lobby)
    Endpoint.objects.create(name="Lobby desk", url="https://desk.example.org/in", secret="k", collection=lobby)
    gate = Camera(name="gate", collection=lobby)
    gate.stream_url = "rtsp://192.0.2.7:554/stream1"
    gate.save()
    url = reverse("admin:recognition_collection_delete", args=[lobby.pk])
    page = admin.get(url).content.decode()
    assert "lobby: still used by 1 analysed image, 1 endpoint, 1 camera" in page
    admin.post(url, {"post": "yes"})
    assert Collection.objects.filter(name="lobby").exists() and Face.objects.filter(is_reference=True).exists()
    with pytest.raises(Conflict, match=r"^The collection 'lobby' is still used by 1 analysed image, 1 endpoint, 1 cam"):
        collection_delete(collection=lobby)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.COLLECTION_DELETE).exists()
