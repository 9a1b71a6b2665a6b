"""Requests are signed with AWS Signature Version 4 and checked: the errors are AWS's own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from backoffice import roles
from recognition.models import AuditEvent
from rekognition_api.keys import access_key_revoke
from rekognition_api.models import AccessKey
from tests.factories import UserFactory
from tests.images import FIXTURES
from tests.rekognition_api.clients import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def error_of(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


@pytest.fixture
def operator(db):
    return UserFactory(role=roles.OPERATOR)


def test_a_correctly_signed_request_is_answered_as_its_user(live_server, operator):
    client = client_for(live_server, operator)
    assert isinstance(client.list_collections()["CollectionIds"], list)  # answered, as this user
    key = AccessKey.objects.get(user=operator)
    assert key.last_used_at is not None
    assert AccessKey.objects.get(pk=key.pk).secret_encrypted != key.secret  # stored sealed


def test_a_wrong_secret_is_an_invalid_signature(live_server, operator):
    client = client_for(live_server, operator, secret="not-the-secret-at-all")
    assert error_of(client.list_collections) == "InvalidSignatureException"


def test_guessing_keys_or_secrets_gets_throttled_and_a_real_key_still_passes(live_server, operator, settings):
    settings.FACESITE_TOKEN_FAILURES = 3
    wrong_secret = client_for(live_server, operator, secret="a-guess")
    unknown_key = client_for(live_server, operator)
    AccessKey.objects.filter(user=operator).exclude(pk=AccessKey.objects.order_by("pk").first().pk).update(
        access_key_id="FSKAUNKNOWNKEY00000"
    )
    codes = [error_of(wrong_secret.list_collections), error_of(unknown_key.list_collections)]
    codes += [error_of(wrong_secret.list_collections), error_of(unknown_key.list_collections)]
    assert codes == ["InvalidSignatureException", "UnrecognizedClientException", "InvalidSignatureException",
                     "ThrottlingException"], "guessing keys or secrets from here is cut off for a while"  # fmt: skip
    assert isinstance(client_for(live_server, operator).list_collections()["CollectionIds"], list), "a real key"


def test_an_unknown_or_revoked_key_is_unrecognised(live_server, operator):
    client = client_for(live_server, operator)
    AccessKey.objects.filter(user=operator).update(access_key_id="FSKAUNKNOWNKEY00000")
    assert error_of(client.list_collections) == "UnrecognizedClientException"
    revoked = client_for(live_server, operator)
    access_key_revoke(key=AccessKey.objects.exclude(access_key_id="FSKAUNKNOWNKEY00000").get(user=operator))
    assert error_of(revoked.list_collections) == "UnrecognizedClientException"
    assert AuditEvent.objects.filter(action="access_key.revoke").count() == 1


def test_a_request_signed_outside_the_allowed_skew_is_refused(live_server, operator, monkeypatch):
    import botocore.auth

    client = client_for(live_server, operator)
    stale = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=6)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: stale)
    with pytest.raises(ClientError) as caught:
        client.list_collections()
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert "Signature expired" in caught.value.response["Error"]["Message"]


def test_a_body_changed_after_signing_is_refused(live_server, operator):
    client = client_for(live_server, operator)

    def tamper(request, **kwargs):
        request.body = request.body.replace(b"staff", b"other")

    client.meta.events.register_last("before-send.rekognition.CreateCollection", tamper)
    assert error_of(lambda: client.create_collection(CollectionId="staff")) == "InvalidSignatureException"


def test_unsigned_requests_are_refused(live_server):
    import requests

    response = requests.post(
        f"{live_server.url}/rekognition",
        data=b"{}",
        headers={"X-Amz-Target": "RekognitionService.ListCollections", "Content-Type": "application/x-amz-json-1.1"},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.json()["__type"] == "MissingAuthenticationTokenException"
    assert response.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException")
    assert response.headers["x-amzn-RequestId"]


def test_a_reviewers_key_cannot_index_faces(live_server, settings):
    settings.RECOGNITION_ENGINE = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}
    admin = client_for(live_server, UserFactory(role=roles.ADMINISTRATOR))
    admin.create_collection(CollectionId="staff")
    reviewer = client_for(live_server, UserFactory(role=roles.REVIEWER))
    image = {"Bytes": (FIXTURES / "obama.jpg").read_bytes()}
    assert error_of(lambda: reviewer.index_faces(CollectionId="staff", Image=image)) == "AccessDeniedException"
    assert reviewer.describe_collection(CollectionId="staff")["FaceCount"] == 0  # reading is allowed


def test_the_access_key_command_prints_the_pair_last(operator):
    from io import StringIO

    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    call_command("create_access_key", operator.username, stdout=out, stderr=err)
    key_id, secret = out.getvalue().strip().splitlines()[-1].split()
    assert AccessKey.objects.get(access_key_id=key_id).secret == secret
    assert "not shown again" in err.getvalue()


def test_calls_count_against_the_users_rate_like_the_rest_api(live_server, operator):
    from django.core.cache import cache
    from rest_framework.throttling import UserRateThrottle

    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = {**original, "sync": "2/min"}  # DRF reads the rates at import
    cache.clear()
    try:
        client = client_for(live_server, operator)
        client.list_collections()
        client.list_collections()
        assert error_of(client.list_collections) == "ThrottlingException"
    finally:
        UserRateThrottle.THROTTLE_RATES = original
        cache.clear()
