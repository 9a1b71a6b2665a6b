"""Access keys in the back office: made by administrators, the secret shown once, revoked."""

from __future__ import annotations

import re

import pytest

from backoffice import roles
from rekognition_api.models import AccessKey
from tests.factories import UserFactory
from tests.recognition.test_admin import admin_client

pytestmark = pytest.mark.django_db


def test_an_administrator_creates_a_key_and_sees_its_secret_once():
    owner = UserFactory(role=roles.OPERATOR)
    client = admin_client(roles.ADMINISTRATOR)
    page = client.post("/admin/rekognition_api/accesskey/add/", {"user": owner.pk, "description": "door"})
    assert page.status_code == 200
    key = AccessKey.objects.get(user=owner)
    secret = re.search(r'id="secret-access-key"[^>]*>([^<]+)<', page.content.decode()).group(1)
    assert key.secret == secret and key.access_key_id in page.content.decode()
    later = client.get(f"/admin/rekognition_api/accesskey/{key.pk}/change/").content.decode()
    assert secret not in later

    client.post("/admin/rekognition_api/accesskey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert not AccessKey.objects.get(pk=key.pk).is_active


@pytest.mark.parametrize("role", [roles.OPERATOR, roles.REVIEWER])
def test_other_roles_cannot_manage_keys(role):
    assert admin_client(role).get("/admin/rekognition_api/accesskey/").status_code == 403


def test_rekognition_users_are_listed_read_only():
    from recognition.models import Collection, Person
    from rekognition_api.models import CollectionUser

    person = Person.objects.create(name="obama")
    CollectionUser.objects.create(collection=Collection.get_default(), user_id="obama", person=person)
    client = admin_client(roles.ADMINISTRATOR)
    listing = client.get("/admin/rekognition_api/collectionuser/")
    assert listing.status_code == 200 and "obama" in listing.content.decode()
    assert client.get("/admin/rekognition_api/collectionuser/add/").status_code == 403
