"""Every page of the back office renders with rows in it: each registered model's list, its add form and the
change form of a listed row, with rows that take each column's less common branches (a recorded consent, a
collection's own threshold, a delivery that was sent, a camera with credentials)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from backoffice import roles
from integrations.models import Delivery, Endpoint
from integrations.services.sending import delivery_send
from kiosk.models import Kiosk
from recognition.models import Collection, Face, Person, PersonExport
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.matching import person_verify
from recognition.services.people import person_enroll
from rekognition_api.keys import access_key_create
from rekognition_api.models import CollectionTag, CollectionUser, VideoJob
from tests import images
from tests.factories import PersonFactory, UserFactory
from videos.models import Camera, Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_of_everything(settings, endpoint):
    """At least one row for every page: Ada enrolled (consent recorded) and a face of hers waiting for review,
    its delivery sent to the loopback endpoint, a badge checked, Grace (no consent recorded), a collection
    with its own threshold, a kiosk, an API token and an access key, a Rekognition user, a camera, and a
    video with its face search job."""
    ada = PersonFactory(name="Ada", consent_given_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
    PersonFactory(name="Grace")
    photo = images.jpeg((160, 120), seed=5)
    person_enroll(person=ada, data=photo)
    settings.FACESITE_MATCH_THRESHOLD = 100.5  # below it: to review
    image_analyse(image_id=image_ingest(data=photo).pk)
    delivery_send(delivery_id=str(Delivery.objects.get().pk))
    person_verify(external_id=ada.external_id, data=photo, threshold=80)
    default = Collection.get_default()
    Collection.objects.create(name="lobby", match_threshold=85.5)
    Group.objects.get_or_create(name="Visitors")
    Kiosk.objects.create(name="front-door", location="Front door", user=UserFactory(username="kiosk-front"))
    batch_job = UserFactory(username="batch-job")
    Token.objects.create(user=batch_job)
    access_key_create(user=batch_job, description="Nightly import")
    CollectionUser.objects.create(collection=default, user_id="ada", person=ada)
    CollectionTag.objects.create(collection=default, key="team", value="security")
    gate = Camera(name="gate", location="Gate", collection=default)
    gate.stream_url = "rtsp://viewer:s3cret-pass@192.0.2.7:554/stream1"
    gate.save()
    door = Video.objects.create(original_filename="door.mp4", collection=default, sample_rate=1, chunk_seconds=10)
    VideoJob.objects.create(video=door, user=batch_job, client_request_token="door-1", job_tag="door-camera")
    PersonExport.objects.create(person=Person.objects.first(), status=PersonExport.Status.FAILED, error="Disk full.")


def test_every_admin_list_add_and_change_page_renders(one_of_everything):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for model, model_admin in admin.site._registry.items():
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        listing = client.get(reverse(f"{name}_changelist"))
        assert listing.status_code == 200, name
        rows = list(listing.context["cl"].result_list)
        assert rows, f"{name}: the fixture leaves no row to open"
        assert client.get(reverse(f"{name}_change", args=[rows[0].pk])).status_code == 200, name
        if model_admin.has_add_permission(listing.wsgi_request):
            assert client.get(reverse(f"{name}_add")).status_code == 200, name


def test_lists_show_recorded_consent_and_where_a_threshold_comes_from(one_of_everything):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    people = client.get(reverse("admin:recognition_person_changelist")).content.decode()
    assert "2026-12-01" in people and "none recorded" in people
    collections = client.get(reverse("admin:recognition_collection_changelist")).content.decode()
    assert "85.5</a> (set here)" in collections and "100.5</a> (setting)" in collections


def test_dates_and_times_are_shown_in_the_sites_time_zone(one_of_everything, settings, endpoint):
    settings.TIME_ZONE = "Pacific/Auckland"  # UTC+13 in December: 12:30 UTC is 01:30 the next day
    at = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
    ada = Person.objects.get(name="Ada")
    Person.objects.filter(pk=ada.pk).update(consent_given_at=at)
    Face.objects.filter(is_reference=False).update(person=ada, created_at=at)
    Endpoint.objects.filter(pk=endpoint.pk).update(secret_changed_at=at)
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    people = client.get(reverse("admin:recognition_person_changelist")).content.decode()
    assert "2026-12-02" in people and "2026-12-01" not in people
    person = client.get(reverse("admin:recognition_person_change", args=[ada.pk])).content.decode()
    assert "2026-12-02 01:30" in person
    secret = client.get(reverse("admin:integrations_endpoint_change", args=[endpoint.pk])).content.decode()
    assert "Set 2026-12-02 01:30; stored encrypted" in secret


def test_administrators_see_collections_tags_and_reviewers_do_not(one_of_everything):
    """The roles as the migrations left them (this test's database is not flushed between tests)."""
    page = reverse("admin:rekognition_api_collectiontag_changelist")
    for role, status in ((roles.ADMINISTRATOR, 200), (roles.REVIEWER, 403)):
        client = Client()
        client.force_login(UserFactory(role=role, is_staff=True))
        answer = client.get(page)
        assert answer.status_code == status, role
        assert ("security" in answer.content.decode()) == (status == 200), "the tag's value, to those who may see it"
    collection = reverse("admin:recognition_collection_change", args=[Collection.get_default().pk])
    for role, shown in ((roles.ADMINISTRATOR, True), (roles.REVIEWER, False)):
        client = Client()
        client.force_login(UserFactory(role=role, is_staff=True))
        answer = client.get(collection)
        assert answer.status_code == 200, role
        content = answer.content.decode()
        assert ("Tags (set through the Rekognition-compatible API)" in content) == shown, role
        assert ("security" in content) == shown, "on the collection's own page too, read only"
