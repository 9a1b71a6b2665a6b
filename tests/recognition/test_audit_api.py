"""The audit trail over the API, for the security team's tools: read-only, for those who may read the trail,
filtered as the admin's, and pulled from an event on."""

import pytest
from django.utils import timezone

from recognition.models import AuditEvent
from recognition.services.ingest import image_ingest
from tests import images
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_a_siem_pulls_what_is_new_in_the_order_it_happened(admin_client_api, user):
    image_ingest(data=images.jpeg(seed=1), uploaded_by=user)
    first = admin_client_api.get("/api/audit-events/?ordering=id").json()
    [upload] = first["results"]
    assert upload["action"] == "image.upload" and upload["action_label"] == "Image uploaded"
    assert upload["actor"] == user.username and upload["object_type"] == "image" and upload["repeats"] == 1
    assert set(upload) == {"id", "created_at", "actor", "action", "action_label", "object_type", "object_id",
                           "client_ip", "details", "repeats", "last_at"}  # fmt: skip

    admin_client_api.get(f"/api/people/{PersonFactory().pk}/")  # a read
    image_ingest(data=images.jpeg(seed=2), uploaded_by=user)
    newer = admin_client_api.get(f"/api/audit-events/?ordering=id&after={upload['id']}").json()["results"]
    assert [e["action"] for e in newer] == ["person.view", "image.upload"], "only what came after, oldest first"
    reads = admin_client_api.get("/api/audit-events/?kind=reads").json()["results"]
    assert [e["action"] for e in reads] == ["person.view"]
    done = admin_client_api.get(f"/api/audit-events/?kind=done&actor={user.username}").json()
    assert done["count"] == 2 and {e["action"] for e in done["results"]} == {"image.upload"}
    one = admin_client_api.get(f"/api/audit-events/{upload['id']}/").json()
    assert one == upload


def test_a_siem_learns_of_reads_counted_on_events_it_already_pulled(admin_client_api):
    person = PersonFactory()
    admin_client_api.get(f"/api/people/{person.pk}/")
    [read] = admin_client_api.get("/api/audit-events/?kind=reads&ordering=id").json()["results"]
    assert read["repeats"] == 1 and read["last_at"] is None
    pulled_at = timezone.now().isoformat()
    assert admin_client_api.get("/api/audit-events/", {"repeated_after": pulled_at}).json()["results"] == []

    admin_client_api.get(f"/api/people/{person.pk}/")  # within minutes: counted on the same event
    assert admin_client_api.get(f"/api/audit-events/?ordering=id&after={read['id']}").json()["results"] == []
    [again] = admin_client_api.get("/api/audit-events/", {"repeated_after": pulled_at}).json()["results"]
    assert (again["id"], again["repeats"]) == (read["id"], 2)


def test_the_trail_is_read_only_and_for_those_who_may_read_it(admin_client_api, reviewer_client, api_client):
    event = AuditEvent.objects.create(action=AuditEvent.Action.RETENTION_PURGE, details={"removed": {}})
    for client in (reviewer_client, api_client):
        assert client.get("/api/audit-events/").status_code == 403
    assert admin_client_api.delete(f"/api/audit-events/{event.pk}/").status_code == 405
    assert admin_client_api.post("/api/audit-events/", {"action": "image.upload"}).status_code == 405
    refused = admin_client_api.get("/api/audit-events/?kind=everything")
    assert refused.status_code == 400 and "kind" in refused.json()
