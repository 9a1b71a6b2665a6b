"""Services write the audit rows for what they change, whoever calls them (API, admin, commands, tasks)."""

import pytest

from backoffice import roles
from integrations.services.outbox import SEND_DELIVERY
from recognition.admin.activity import sentences
from recognition.audit import API_TOKEN, acting_with, acting_with_for_request
from recognition.models import AuditEvent, Image, Person
from recognition.services.analysis import image_analyse, image_reanalyse
from recognition.services.files import DELETE_FILES
from recognition.services.ingest import image_ingest, image_upload
from recognition.services.people import person_enroll, person_save
from recognition.services.queue import ANALYSE_IMAGE
from tests import images
from tests.conftest import client_for
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return UserFactory(role=roles.OPERATOR)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def test_enrolment_is_audited_by_the_service(operator):
    person = PersonFactory()
    face = person_enroll(person=person, data=images.jpeg((96, 72), seed=4), uploaded_by=operator, client_ip="10.0.0.9")
    [event] = events(AuditEvent.Action.PERSON_ENROL)
    assert (event.actor, event.object_id, event.client_ip) == (operator, str(face.pk), "10.0.0.9")
    assert event.details["person"] == str(person.pk)


def test_uploads_and_duplicates_are_audited_by_the_service(operator):
    data = images.jpeg((96, 72), seed=5)
    image = image_ingest(data=data, uploaded_by=operator)
    again = image_upload(data=data, uploaded_by=operator)
    assert again.image == image and not again.created
    assert [(e.object_id, e.details["created"]) for e in events(AuditEvent.Action.IMAGE_UPLOAD)] == [
        (str(image.pk), False),
        (str(image.pk), True),
    ]  # newest first


def test_creating_and_changing_a_person_is_audited_by_the_service(operator):
    person = person_save(person=Person(), changes={"name": "Ada", "external_id": "B-9"}, actor=operator)
    person_save(person=person, changes={"notes": "Night shift"}, actor=operator, via="admin")
    update, create = events(AuditEvent.Action.PERSON_UPDATE) + events(AuditEvent.Action.PERSON_CREATE)
    assert create.details == {"via": "api", "fields": ["external_id", "name"]}
    assert update.details == {"via": "admin", "fields": ["notes"]}
    assert Person.objects.get(pk=person.pk).notes == "Night shift"


def test_reanalysis_is_audited_only_when_it_queues(operator):
    image = image_ingest(data=images.jpeg((96, 72), seed=6))
    assert not image_reanalyse(image=image, actor=operator)  # still pending: nothing to queue
    image_analyse(image_id=image.pk)
    assert image_reanalyse(image=image, actor=operator)
    assert Image.objects.get(pk=image.pk).status == Image.Status.PENDING
    assert len(events(AuditEvent.Action.IMAGE_REANALYSE)) == 1


def test_every_task_the_services_queue_by_name_is_registered(settings):
    from facesite.celery import app

    app.loader.import_default_modules()
    assert {ANALYSE_IMAGE, SEND_DELIVERY, DELETE_FILES} <= set(app.tasks)
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= set(app.tasks), "and beat's"


def test_a_credential_is_named_on_the_rows_recorded_while_it_acts_and_on_no_others(operator):
    with acting_with("access key AKIAEXAMPLE"):
        person_save(person=Person(), changes={"name": "Ada"}, actor=operator)
    with pytest.raises(RuntimeError), acting_with("access key AKIAOTHER"):
        raise RuntimeError("the operation failed")
    person_save(person=Person(), changes={"name": "Grace"}, actor=operator)
    rows = AuditEvent.objects.filter(action=AuditEvent.Action.PERSON_CREATE).order_by("created_at")
    assert [row.details.get("credential") for row in rows] == ["access key AKIAEXAMPLE", None]


def test_rows_of_a_request_made_with_an_api_token_name_it_and_a_sessions_next_request_does_not(operator, client):
    with_token = client_for(operator)
    assert with_token.post("/api/people/", {"name": "Ada"}, format="json").status_code == 201
    client.force_login(operator)  # the same thread answers a session's request next
    assert client.post("/api/people/", {"name": "Grace"}, content_type="application/json").status_code == 201
    rows = AuditEvent.objects.filter(action=AuditEvent.Action.PERSON_CREATE).order_by("created_at")
    assert [row.details.get("credential") for row in rows] == [API_TOKEN, None]
    assert sentences(rows)[rows[0].pk].endswith("(with API token)")


def test_a_credential_for_the_rest_of_a_request_needs_a_request():
    with pytest.raises(RuntimeError, match="AuditCredentialMiddleware"):
        acting_with_for_request(API_TOKEN)
