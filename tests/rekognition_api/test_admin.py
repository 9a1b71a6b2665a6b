"""Access keys in the back office: made by administrators, the secret shown once, revoked."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission

from backoffice import roles
from recognition.exceptions import NotAllowed
from recognition.models import AuditEvent
from rekognition_api.keys import access_key_create
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


def test_a_key_acts_in_its_users_name_so_none_is_made_for_a_user_who_may_do_more():
    client = admin_client(roles.ADMINISTRATOR)
    root, peer = UserFactory(is_superuser=True, username="root"), UserFactory(role=roles.ADMINISTRATOR)
    extra = UserFactory(role=roles.OPERATOR, username="erp-sync")
    extra.user_permissions.add(Permission.objects.get(codename="view_token"))  # beyond the Administrator role
    for user, reason in [(root, "root is a superuser"), (extra, "erp-sync may do what you may not (authtoken")]:
        page = client.post("/admin/rekognition_api/accesskey/add/", {"user": user.pk, "description": "x"})
        assert page.status_code == 200 and reason in page.content.decode()
        assert not AccessKey.objects.filter(user=user).exists()
        with pytest.raises(NotAllowed):
            access_key_create(user=user, actor=client.user)  # the service holds the rule, whoever calls it
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ACCESS_KEY_CREATE).count() == 0

    for user in (peer, client.user):  # no more than the Administrator may do: a peer, or themselves
        client.post("/admin/rekognition_api/accesskey/add/", {"user": user.pk, "description": "x"})
        assert AccessKey.objects.filter(user=user).count() == 1
    superuser = admin_client(None, superuser=True)
    superuser.post("/admin/rekognition_api/accesskey/add/", {"user": root.pk, "description": "x"})
    assert AccessKey.objects.filter(user=root).count() == 1
    assert access_key_create(user=root)[0].user == root, "manage.py create_access_key: the server's shell"


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


def test_video_jobs_are_listed_read_only_with_their_video_for_administrators():
    from recognition.s3_objects import S3Object
    from rekognition_api.models import VideoJob
    from videos.services import AnalysisOptions, video_upload_s3

    starter = UserFactory(role=roles.OPERATOR, username="door-script")
    video = video_upload_s3(
        source=S3Object("cameras", "door/clip.mp4"), uploaded_by=starter, options=AnalysisOptions(identify=False)
    )
    VideoJob.objects.create(video=video, user=starter, kind=VideoJob.Kind.FACE_DETECTION, job_tag="door-cam",
                            client_request_token="d-7")  # fmt: skip
    client = admin_client(roles.ADMINISTRATOR)
    listing = client.get("/admin/rekognition_api/videojob/").content.decode()
    assert f'href="/admin/videos/video/{video.pk}/change/"' in listing and str(video.pk) in listing
    assert all(shown in listing for shown in ("Face detection", "Pending", "door-script", "door-cam", "d-7"))
    assert client.get(f"/admin/rekognition_api/videojob/{video.pk}/delete/").status_code == 403, "deleted as a video"
    assert admin_client(roles.REVIEWER).get("/admin/rekognition_api/videojob/").status_code == 403
