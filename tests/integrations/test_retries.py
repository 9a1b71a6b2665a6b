"""Every delivery ends delivered or dead: no hot retry loop, no crash on a strange header, no endless POST."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import Delivery, DeliveryAttempt, Endpoint
from integrations.services import sending, upkeep
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from tests import images
from tests.receiver import Reply
from tests.servers import TrickleServer


def analysed_delivery(seed: int = 1) -> Delivery:
    image = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=seed)).pk)
    return Delivery.objects.get(image=image)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("retry_after", ["0", "Wed, 21 Oct 2015 07:28:00 GMT"], ids=["zero", "date-in-the-past"])
def test_retry_after_now_does_not_make_a_hot_loop(celery_worker, receiver, endpoint, settings, retry_after):
    settings.FACESITE_DELIVERY_BACKOFF_MIN = 1.0
    receiver.default = Reply(503, headers={"Retry-After": retry_after})
    image = image_ingest(data=images.jpeg((96, 72), seed=1))
    time.sleep(3.5)
    posts = len(receiver.received)
    assert 2 <= posts <= 5, f"{posts} POSTs in 3.5 s: retries wait at least FACESITE_DELIVERY_BACKOFF_MIN"
    assert Delivery.objects.get(image=image).status in (Delivery.Status.RETRYING, Delivery.Status.DELIVERING)


@pytest.mark.parametrize(("value", "seconds"), [("²", None), ("٣", None), ("１０", None), ("+5", None), (" 12 ", 12.0)])
def test_retry_after_takes_ascii_delta_seconds_only(value, seconds):
    assert sending._retry_after(value) == seconds


@pytest.mark.django_db
def test_a_non_ascii_digit_in_retry_after_is_ignored_not_fatal(receiver, endpoint, settings):
    settings.FACESITE_DELIVERY_BACKOFF_BASE = 30
    receiver.reply(Reply(503, headers={"Retry-After": "²"}))
    delivery = sending.delivery_send(delivery_id=analysed_delivery().pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.RETRYING and delivery.last_status_code == 503
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 10 <= wait <= 31, "the usual backoff, as if there were no Retry-After"


@pytest.mark.django_db
def test_a_receiver_that_trickles_its_answer_is_cut_off_by_the_endpoint_timeout(settings):
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    head = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 2000 + b"\r\n\r\n"
    with TrickleServer(head=head, interval=0.02) as server:  # would take 40 s, a byte at a time
        Endpoint.objects.create(name="Slow", url=f"http://127.0.0.1:{server.port}/", secret="s" * 20,
                                timeout_seconds=1, events=["image.analysed"])  # fmt: skip
        started = time.monotonic()
        delivery = sending.delivery_send(delivery_id=analysed_delivery().pk)
    assert time.monotonic() - started < 6
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.RETRYING and delivery.last_error == "No answer within 1 s (timed out)."
    assert DeliveryAttempt.objects.get(delivery=delivery).outcome == "retrying"


@pytest.mark.django_db
def test_a_failing_delivery_dies_after_the_maximum_attempts(receiver, endpoint, settings):
    settings.FACESITE_DELIVERY_MAX_ATTEMPTS = 2
    settings.FACESITE_DELIVERY_BACKOFF_MIN = 0.01
    settings.FACESITE_DELIVERY_BACKOFF_BASE = 0.01
    receiver.default = Reply(500)
    delivery = analysed_delivery()
    sending.delivery_send(delivery_id=delivery.pk)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    sending.delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DEAD and "FACESITE_DELIVERY_MAX_ATTEMPTS" in delivery.last_error


@pytest.mark.django_db
def test_the_sweeper_ends_what_is_past_its_maximum_age(endpoint, settings):
    lost = analysed_delivery(seed=1)
    waiting = analysed_delivery(seed=2)
    past = timezone.now() - timedelta(minutes=1)
    Delivery.objects.filter(pk=lost.pk).update(
        status=Delivery.Status.DELIVERING, claimed_at=timezone.now() - timedelta(hours=2), give_up_at=past
    )
    Delivery.objects.filter(pk=waiting.pk).update(status=Delivery.Status.RETRYING, give_up_at=past)
    report = upkeep.deliveries_sweep()
    assert report.expired == 2 and report.reclaimed == 0
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.DEAD}


@pytest.mark.django_db
def test_the_sweeper_queues_a_lost_delivery_once_not_on_every_run(endpoint, django_capture_on_commit_callbacks):
    delivery = analysed_delivery()
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks() as first:
        assert upkeep.deliveries_sweep().queued == 1
    with django_capture_on_commit_callbacks() as second:
        assert upkeep.deliveries_sweep().queued == 0, "queued a moment ago: workers are behind, not the message lost"
    assert len(first) == 1 and len(second) == 0
    Delivery.objects.filter(pk=delivery.pk).update(queued_at=timezone.now() - timedelta(minutes=5))
    assert upkeep.deliveries_sweep().queued == 1, "still not sent long after: queued again"


@pytest.mark.django_db(transaction=True)
def test_a_reanalysis_while_a_delivery_is_on_its_way_sends_the_new_document_after_it(receiver, endpoint):
    import threading

    from django.db import connections
    from lxml import etree

    from integrations import xml
    from recognition.services.analysis import image_reanalyse

    receiver.reply(Reply(200, delay=1.5))
    delivery = analysed_delivery(seed=4)
    sender = threading.Thread(target=lambda: (sending.delivery_send(delivery_id=delivery.pk), connections.close_all()))
    sender.start()
    deadline = time.monotonic() + 10
    while Delivery.objects.get(pk=delivery.pk).status != Delivery.Status.DELIVERING and time.monotonic() < deadline:
        time.sleep(0.02)

    image_reanalyse(image=delivery.image)
    image_analyse(image_id=delivery.image_id)
    on_its_way = Delivery.objects.get(pk=delivery.pk)
    assert on_its_way.status == Delivery.Status.DELIVERING, "not reset under the sender's feet"
    assert on_its_way.document_changed
    sender.join(15)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and not delivery.document_changed
    sending.delivery_send(delivery_id=delivery.pk)
    first, second = receiver.received
    assert second.at - first.at >= 1.4, "one after the other, never side by side"
    numbers = [
        etree.fromstring(r.body).find(f"{{{xml.NAMESPACE}}}image").get("analysisNumber") for r in (first, second)
    ]
    assert numbers == ["1", "2"]
