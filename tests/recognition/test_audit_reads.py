"""Looking for someone leaves a trace: lists, searches, crops, thumbnails, payloads, resends; one event a request."""

import pytest
from django.test import Client
from django.urls import reverse

from backoffice import roles
from integrations.models import Delivery, Endpoint
from recognition.models import AuditEvent
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from tests import images
from tests.conftest import client_for
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seen(settings):
    """Ada, enrolled, then identified in an analysed image that was delivered to an endpoint."""
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    Endpoint.objects.create(name="ERP", url="http://127.0.0.1:9/", secret="s" * 20, events=["image.analysed"])
    ada = PersonFactory(name="Ada")
    photo = images.jpeg((160, 120), seed=5)
    person_enroll(person=ada, data=photo)
    image = image_analyse(image_id=image_ingest(data=photo).pk)
    Delivery.objects.filter(image=image).update(status=Delivery.Status.DEAD, last_response_excerpt="<secret/>")
    return ada, image


def new_events(before: int, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, pk__gt=before))


def last_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_api_lists_and_searches_are_audited_once_per_request(seen):
    ada, _ = seen
    api = client_for(UserFactory(role=roles.OPERATOR))
    before = last_id()
    assert api.get("/api/images/", {"person": str(ada.pk)}).json()["count"] == 1
    api.get("/api/people/", {"search": "Ada"})
    api.get(f"/api/people/{ada.pk}/faces/")
    [where] = new_events(before, "image.list")
    assert where.details["query"] == f"person={ada.pk}" and where.actor is not None
    assert new_events(before, "person.list")[0].details["query"] == "search=Ada"
    assert new_events(before, "face.list")[0].details["person"] == str(ada.pk)


def test_admin_lists_crops_and_thumbnails_are_audited(seen):
    _, image = seen
    client = Client()
    client.force_login(UserFactory(is_staff=True, role=roles.REVIEWER))
    before = last_id()
    for page, action in [
        ("admin:recognition_image_changelist", "image.list"),
        ("admin:recognition_person_changelist", "person.list"),
        ("admin:recognition_faceforreview_changelist", "face.list"),
        ("admin:recognition_verification_changelist", "verification.list"),
        ("admin:integrations_delivery_changelist", "delivery.list"),
    ]:
        assert client.get(reverse(page), {"q": "Ada"}).status_code == 200
        [event] = new_events(before, action)
        assert event.details == {"via": "admin", "query": "q=Ada"}
    face = image.faces.get()
    client.get(reverse("admin:recognition_image_face_crop", args=[face.pk]))
    client.get(reverse("admin:recognition_image_thumbnail", args=[image.pk, 160]))
    assert [e.object_id for e in new_events(before, "face.crop")] == [str(face.pk)]
    assert [e.object_id for e in new_events(before, "image.thumbnail")] == [str(image.pk)]


def test_delivery_payloads_resends_and_endpoint_deletion_are_audited(seen):
    _, image = seen
    delivery = Delivery.objects.get(image=image)
    operator = UserFactory(role=roles.OPERATOR)
    api = client_for(operator)
    before = last_id()
    api.get(f"/api/deliveries/{delivery.pk}/")
    assert api.post(f"/api/deliveries/{delivery.pk}/resend/").status_code == 202
    [viewed] = new_events(before, "delivery.view")
    [resent] = new_events(before, "delivery.resend")
    assert viewed.object_id == str(delivery.pk) and resent.actor == operator
    assert resent.details["deliveries"] == [str(delivery.pk)]

    admin = Client()
    admin.force_login(UserFactory(is_staff=True, role=roles.ADMINISTRATOR))
    endpoint = delivery.endpoint
    admin.post(reverse("admin:integrations_endpoint_delete", args=[endpoint.pk]), {"post": "yes"})
    assert not Endpoint.objects.exists()
    [deleted] = new_events(before, "endpoint.delete")
    assert deleted.details == {"name": "ERP", "url": "http://127.0.0.1:9/"}


def test_reviewers_do_not_read_what_receivers_answered(seen):
    _, image = seen
    delivery = Delivery.objects.get(image=image)
    reviewer, operator = UserFactory(role=roles.REVIEWER), UserFactory(role=roles.OPERATOR)
    assert "last_response_excerpt" not in client_for(reviewer).get(f"/api/deliveries/{delivery.pk}/").json()
    assert client_for(operator).get(f"/api/deliveries/{delivery.pk}/").json()["last_response_excerpt"] == "<secret/>"
    page = reverse("admin:integrations_delivery_change", args=[delivery.pk])
    for user, shown in ((reviewer, False), (operator, True)):
        user.is_staff = True
        user.save()
        client = Client()
        client.force_login(user)
        assert ("&lt;secret/&gt;" in client.get(page).content.decode()) is shown
