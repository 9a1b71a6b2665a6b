"""Endpoints' signing secrets are write-only: generated or set, shown once, stored encrypted, rotatable."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from backoffice import roles
from integrations.models import Delivery, Endpoint
from integrations.services import sending
from integrations.xml import schema
from recognition.models import AuditEvent
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from tests import images
from tests.factories import UserFactory
from tests.integrations.test_deliveries import verify_signature
from tests.receiver import Reply
from tests.servers import closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_loopback_network(settings):
    """These receivers run on loopback; an operator allows their own network the same way."""
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]


def staff(role: str) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, role=role))
    return client


def form(**changes) -> dict:
    return {"name": "Door", "url": "http://127.0.0.1:9/in", "enabled": "on", "events": ["image.analysed"],
            "timeout_seconds": "5", "secret_change": "generate", **changes}  # fmt: skip


def test_a_generated_secret_is_shown_once_then_never_again():
    admin = staff(roles.ADMINISTRATOR)
    assert (
        '<label class="required" for="id_url">URL:</label>'
        in admin.get(reverse("admin:integrations_endpoint_add")).content.decode()
    ), "the form says URL, not Django's 'Url' from the field's name"
    shown = admin.post(reverse("admin:integrations_endpoint_add"), form())
    assert shown.status_code == 200 and "no-store" in shown["Cache-Control"]
    endpoint = Endpoint.objects.get()
    assert endpoint.secret in shown.content.decode()

    page = reverse("admin:integrations_endpoint_change", args=[endpoint.pk])
    for role in (roles.OPERATOR, roles.ADMINISTRATOR):
        html = staff(role).get(page).content.decode()
        assert endpoint.secret not in html and endpoint.secret_encrypted not in html, role
        assert "stored encrypted, never shown again" in html
    event = AuditEvent.objects.get(action="endpoint.create")
    assert event.details["secret_changed"] is True


def test_an_endpoint_whose_host_does_not_exist_is_saved_with_a_warning():
    """Its receiver's DNS record may come later; a typo shows at once rather than in failed deliveries."""
    admin = staff(roles.ADMINISTRATOR)
    saved = admin.post(reverse("admin:integrations_endpoint_add"), form(url="https://erp.facesite.invalid/hook"),
                       follow=True)  # fmt: skip
    assert Endpoint.objects.get().url == "https://erp.facesite.invalid/hook"
    [warning] = [str(m) for m in saved.context["messages"]]
    assert warning.startswith("No host is called erp.facesite.invalid") and "check the URL" in warning
    endpoint = Endpoint.objects.get()
    tried = sending.post_document(endpoint, event="endpoint.test", delivery_id="1", attempt=1, key="1", body=b"<x/>")
    assert tried.status == Delivery.Status.RETRYING, "its DNS record may come later"
    assert tried.error == "Could not connect: No host is called erp.facesite.invalid: DNS knows no address for it."


def test_the_secret_is_stored_encrypted():
    Endpoint.objects.create(name="ERP", url="http://127.0.0.1:9/", secret="plain-text-secret-value")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM integrations_endpoint")
        row = cursor.fetchone()
    assert not any("plain-text-secret-value" in str(column) for column in row)
    assert Endpoint.objects.get().secret == "plain-text-secret-value"


def added_for(admin: Client, receiver) -> tuple[Endpoint, str, str]:
    """An endpoint added through the admin for ``receiver``: it, its secret, and its change page."""
    admin.post(reverse("admin:integrations_endpoint_add"), form(url=receiver.url))
    endpoint = Endpoint.objects.get()
    return endpoint, endpoint.secret, reverse("admin:integrations_endpoint_change", args=[endpoint.pk])


def test_rotating_the_secret_signs_the_next_delivery_with_the_new_one(receiver):
    admin = staff(roles.ADMINISTRATOR)
    _, old, change = added_for(admin, receiver)
    kept = admin.post(change, form(url=receiver.url, secret_change="keep"))
    assert kept.status_code == 302, "keeping the secret shows nothing"
    assert Endpoint.objects.get().secret == old
    shown = admin.post(change, form(url=receiver.url, secret_change="generate"))
    new = Endpoint.objects.get().secret
    assert new != old and new in shown.content.decode()

    image = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=1)).pk)
    sending.delivery_send(delivery_id=Delivery.objects.get(image=image).pk)
    [request] = receiver.received
    assert verify_signature(new, request.headers, request.body)
    assert not verify_signature(old, request.headers, request.body)


def test_a_secret_replaced_with_time_to_spare_signs_beside_the_new_one_until_then(receiver):
    admin = staff(roles.ADMINISTRATOR)
    _, old, change = added_for(admin, receiver)
    admin.post(change, form(url=receiver.url, secret_change="generate", old_secret_signs_for="24"))
    endpoint = Endpoint.objects.get()
    new = endpoint.secret
    assert "The secret it replaced signs too until" in admin.get(change).content.decode()
    rotated = AuditEvent.objects.filter(action="endpoint.update").get()
    assert rotated.details["old_secret_signs_until"] == endpoint.previous_secret_until.isoformat()

    def delivered(seed: int) -> tuple[dict, bytes]:
        image = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=seed)).pk)
        sending.delivery_send(delivery_id=Delivery.objects.get(image=image).pk)
        request = receiver.received[-1]
        return request.headers, request.body

    headers, body = delivered(1)
    assert headers["Facesite-Signature"].count("sha256=") == 2
    assert verify_signature(new, headers, body) and verify_signature(old, headers, body), "either secret checks it"

    Endpoint.objects.update(previous_secret_until=timezone.now() - timedelta(seconds=1))  # the day has passed
    headers, body = delivered(2)
    assert verify_signature(new, headers, body) and not verify_signature(old, headers, body)
    assert headers["Facesite-Signature"].count("sha256=") == 1
    assert "The secret it replaced signs too" not in admin.get(change).content.decode()


def test_the_replaced_secret_can_be_stopped_before_its_time(receiver):
    admin = staff(roles.ADMINISTRATOR)
    endpoint, old, change = added_for(admin, receiver)
    admin.post(change, form(url=receiver.url, secret_change="generate", old_secret_signs_for=str(24 * 7)))
    assert len(Endpoint.objects.get().signing_secrets()) == 2
    stop = {"action": "end_old_secret", "_selected_action": [endpoint.pk]}
    answer = admin.post(reverse("admin:integrations_endpoint_changelist"), stop, follow=True)
    [said] = [str(m) for m in answer.context["messages"]]
    assert said.endswith("are signed with the new secret alone now.")
    assert Endpoint.objects.get().signing_secrets() == [Endpoint.objects.get().secret] != [old]
    assert AuditEvent.objects.filter(action="endpoint.update", details__old_secret_ended=True).count() == 1
    again = admin.post(reverse("admin:integrations_endpoint_changelist"), stop, follow=True)
    [said] = [str(m) for m in again.context["messages"]]
    assert said == "No replaced secret was still signing for them."


def test_a_set_secret_must_be_long_enough_and_operators_cannot_change_it():
    admin = staff(roles.ADMINISTRATOR)
    refused = admin.post(reverse("admin:integrations_endpoint_add"), form(secret_change="set", given_secret="short"))
    assert refused.status_code == 200 and not Endpoint.objects.exists()
    admin.post(reverse("admin:integrations_endpoint_add"), form(secret_change="set", given_secret="x" * 20))
    endpoint = Endpoint.objects.get()
    assert endpoint.secret == "x" * 20
    change = reverse("admin:integrations_endpoint_change", args=[endpoint.pk])
    assert staff(roles.OPERATOR).post(change, form(secret_change="generate")).status_code == 403
    assert Endpoint.objects.get().secret == "x" * 20


def test_a_changed_secrets_key_keeps_deliveries_waiting_with_a_clear_error(receiver, settings):
    Endpoint.objects.create(name="ERP", url=receiver.url, secret="s" * 20, events=["image.analysed"])
    image = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=2)).pk)
    settings.FACESITE_SECRETS_KEY = "not the key it was encrypted with"
    delivery = sending.delivery_send(delivery_id=Delivery.objects.get(image=image).pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.RETRYING and "FACESITE_SECRETS_KEY" in delivery.last_error
    assert receiver.received == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://169.254.169.254/x"])
def test_endpoints_at_internal_addresses_are_refused_unless_their_network_is_allowed(settings, url):
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = []
    page = staff(roles.ADMINISTRATOR).post(reverse("admin:integrations_endpoint_add"), form(url=url))
    assert page.status_code == 200 and not Endpoint.objects.exists()
    assert "private, loopback, link-local or reserved address" in page.content.decode()


def test_an_endpoint_whose_address_turns_private_is_not_posted_to(settings, receiver):
    Endpoint.objects.create(name="ERP", url=receiver.url, secret="s" * 20, events=["image.analysed"])
    image = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=3)).pk)
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = []  # the name now resolves inside: refused at send time
    delivery = sending.delivery_send(delivery_id=Delivery.objects.get(image=image).pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DEAD and "FACESITE_URL_FETCH_ALLOWED_NETWORKS" in delivery.last_error
    assert receiver.received == []


def test_the_deliveries_list_says_why_it_is_empty_when_no_endpoint_is_enabled():
    admin = staff(roles.ADMINISTRATOR)
    deliveries = reverse("admin:integrations_delivery_changelist")
    page = admin.get(deliveries).content.decode()
    assert "No endpoint is enabled, so nothing is delivered" in page
    assert f'href="{reverse("admin:integrations_endpoint_add")}"' in page
    endpoint = Endpoint.objects.create(name="ERP", url="https://erp.facesite.invalid/hook", secret="s" * 20,
                                       events=["image.analysed"], enabled=False)  # fmt: skip
    assert "No endpoint is enabled" in admin.get(deliveries).content.decode(), "a disabled one is told of none"
    Endpoint.objects.filter(pk=endpoint.pk).update(enabled=True)
    assert "No endpoint is enabled" not in admin.get(deliveries).content.decode()


def test_a_test_event_reaches_the_endpoint_signed_and_valid_and_is_audited(receiver):
    admin = staff(roles.ADMINISTRATOR)
    admin.post(reverse("admin:integrations_endpoint_add"), form(url=receiver.url, enabled=""))  # not yet enabled
    endpoint = Endpoint.objects.get()
    answer = admin.post(reverse("admin:integrations_endpoint_changelist"),
                        {"action": "send_test_event", "_selected_action": [endpoint.pk]}, follow=True)  # fmt: skip
    [said] = [str(m) for m in answer.context["messages"]]
    assert re.fullmatch(r"Door accepted the test event: HTTP 200 in \d+ ms\.", said)
    assert '<td class="field-told_of">Image analysed</td>' in answer.content.decode(), "events by name, not as JSON"
    [request] = receiver.received
    assert request.headers["Facesite-Event"] == "endpoint.test"
    assert verify_signature(endpoint.secret, request.headers, request.body)
    document = etree.fromstring(request.body)
    schema().assertValid(document)
    [test] = document
    assert test.get("endpoint") == "Door" and test.get("requestedBy") == answer.context["user"].username
    assert request.headers["Facesite-Idempotency-Key"] == document.get("id")
    assert not Delivery.objects.exists(), "a test is no delivery: nothing to retry, resend or list"
    tried = AuditEvent.objects.get(action="endpoint.test")
    assert tried.details["accepted"] is True and tried.details["status_code"] == 200


def test_a_test_event_refused_or_unreachable_says_why(receiver):
    admin = staff(roles.ADMINISTRATOR)
    add = reverse("admin:integrations_endpoint_add")
    admin.post(add, form(url=receiver.url, name="Receiver"))
    admin.post(add, form(url=f"http://127.0.0.1:{closed_port()}/in", name="Gone"))
    receiver.reply(Reply(401, body=b"signature does not check out"))
    answer = admin.post(reverse("admin:integrations_endpoint_changelist"), {
        "action": "send_test_event", "_selected_action": list(Endpoint.objects.values_list("pk", flat=True)),
    }, follow=True)  # fmt: skip
    said = sorted(str(m) for m in answer.context["messages"])
    assert said[0].startswith("Gone did not accept the test event: Could not connect")
    assert said[1] == ("Receiver did not accept the test event: HTTP 401: the endpoint refused the delivery. "
                       "Its answer began: signature does not check out")  # fmt: skip
    assert sorted(AuditEvent.objects.filter(action="endpoint.test").values_list("details__accepted", flat=True)) == [
        False, False,
    ]  # fmt: skip
