"""Deliveries keep their connection to an endpoint open for the next one, and lose nothing when it closes."""

import socket
import time

import pytest

from integrations.models import Delivery, DeliveryAttempt, Endpoint
from integrations.services import sending
from recognition import net
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from tests import images
from tests.helpers import wait_for
from tests.receiver import Receiver, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def allowed_loopback(settings):
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def kept_receiver(allowed_loopback, request):
    """A receiver that keeps connections open (HTTP/1.1), as most web servers do; ``idle_timeout`` by
    indirect parametrization."""
    server = Receiver(keep_alive=True, idle_timeout=getattr(request, "param", 60)).start()
    yield server
    server.stop()


def endpoint_at(url: str, timeout: int = 5) -> Endpoint:
    return Endpoint.objects.create(
        name="ERP", url=url, secret="s3cret-shared", timeout_seconds=timeout, events=["image.analysed"]
    )


def deliver(seed: int) -> Delivery:
    """A new image's delivery, sent once in this thread."""
    image = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=seed)).pk)
    delivery = sending.delivery_send(delivery_id=Delivery.objects.get(image=image).pk)
    delivery.refresh_from_db()
    return delivery


def connections_used(receiver: Receiver) -> int:
    return len({received.peer for received in receiver.received})


@pytest.mark.parametrize(("keep_alive", "connections"), [(30.0, 1), (0.0, 3)], ids=["kept", "not-kept"])
def test_deliveries_to_an_endpoint_share_one_connection_unless_keep_alive_is_0(
    kept_receiver, settings, keep_alive, connections
):
    settings.FACESITE_DELIVERY_KEEP_ALIVE = keep_alive
    endpoint_at(kept_receiver.url)
    delivered = [deliver(seed) for seed in (1, 2, 3)]
    assert [d.status for d in delivered] == [Delivery.Status.DELIVERED] * 3
    assert len(kept_receiver.received) == 3
    assert connections_used(kept_receiver) == connections


def test_a_connection_idle_longer_than_keep_alive_is_not_used_again(kept_receiver, settings):
    settings.FACESITE_DELIVERY_KEEP_ALIVE = 0.3
    endpoint_at(kept_receiver.url)
    deliver(1)
    time.sleep(0.5)
    assert deliver(2).status == Delivery.Status.DELIVERED
    assert connections_used(kept_receiver) == 2
    wait_for(lambda: kept_receiver.open_connections == 1, timeout=5, message=lambda: "the idle one was not closed")


@pytest.mark.parametrize("kept_receiver", [0.2], indirect=True)
def test_a_connection_the_receiver_closed_while_idle_is_replaced_before_sending(kept_receiver):
    endpoint_at(kept_receiver.url)
    deliver(1)
    time.sleep(0.6)  # the receiver closes the connection after 0.2 s idle
    second = deliver(2)
    assert second.status == Delivery.Status.DELIVERED and second.attempts == 1
    assert len(kept_receiver.received) == 2, "seen closed before the POST: nothing sent twice"
    assert connections_used(kept_receiver) == 2


def test_a_request_the_receiver_drops_on_a_kept_connection_is_sent_again_on_a_new_one(kept_receiver, caplog):
    """A server may close an idle connection just as a request arrives on it; the delivery does not fail."""
    endpoint_at(kept_receiver.url + "?token=in-the-query")
    kept_receiver.reply(Reply(), Reply(drop=True))
    deliver(1)
    second = deliver(2)
    assert second.status == Delivery.Status.DELIVERED
    assert DeliveryAttempt.objects.filter(delivery=second).count() == 1
    first_post, dropped, sent_again = kept_receiver.received
    assert dropped.peer == first_post.peer and sent_again.peer != first_post.peer
    key = "Facesite-Idempotency-Key"
    assert dropped.headers[key] == sent_again.headers[key] == second.idempotency_key
    port = kept_receiver.server.server_address[1]
    logged = [record.getMessage() for record in caplog.records if "sent again" in record.getMessage()]
    expected = f"POST to 127.0.0.1:{port}: the kept connection failed (ConnectionError); sent again on a new one."
    assert logged == [expected], "once, and without the URL's query"


def test_a_request_dropped_on_a_new_connection_is_not_sent_again(kept_receiver):
    endpoint_at(kept_receiver.url)
    kept_receiver.reply(Reply(drop=True))
    delivery = deliver(1)
    assert delivery.status == Delivery.Status.RETRYING
    assert delivery.last_error.startswith("Could not connect")
    assert len(kept_receiver.received) == 1


def test_the_deadline_holds_on_a_kept_connection_which_is_then_not_used_again(kept_receiver):
    endpoint_at(kept_receiver.url, timeout=1)
    kept_receiver.reply(Reply(), Reply(interval=0.05))  # the second answer would take two minutes
    deliver(1)
    started = time.monotonic()
    cut_off = deliver(2)
    assert time.monotonic() - started < 5
    assert cut_off.status == Delivery.Status.RETRYING and cut_off.last_error == "No answer within 1 s (timed out)."
    assert deliver(3).status == Delivery.Status.DELIVERED
    first, trickled, third = (received.peer for received in kept_receiver.received)
    assert first == trickled != third


def test_a_narrower_allow_list_applies_to_a_kept_connection(kept_receiver, settings):
    endpoint_at(kept_receiver.url)
    assert deliver(1).status == Delivery.Status.DELIVERED
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = []
    refused = deliver(2)
    assert refused.status == Delivery.Status.DEAD and refused.last_error == sending.ADDRESS_REFUSED
    assert len(kept_receiver.received) == 1


def test_a_connection_closed_after_a_long_answer_is_closed_for_the_receiver_too(kept_receiver, settings):
    """An answer longer than the excerpt is not read to its end, so its connection is closed, not kept;
    the receiver must see it close (nothing in the sender may hold it open)."""
    settings.FACESITE_DELIVERY_RESPONSE_EXCERPT = 10
    kept_receiver.default = Reply(body=b"<ok>" + b"x" * 5000 + b"</ok>")
    endpoint_at(kept_receiver.url)
    assert [deliver(seed).status for seed in (1, 2, 3)] == [Delivery.Status.DELIVERED] * 3
    assert connections_used(kept_receiver) == 3
    wait_for(lambda: kept_receiver.open_connections == 0, timeout=5, message=lambda: "a connection stayed open")


def test_deliveries_over_https_share_one_connection(trusted_ca):
    receiver = Receiver(tls=trusted_ca.server_context(), keep_alive=True).start()
    try:
        endpoint_at(receiver.url)
        assert [deliver(seed).status for seed in (1, 2, 3)] == [Delivery.Status.DELIVERED] * 3
        assert connections_used(receiver) == 1
    finally:
        receiver.stop()


def test_connections_send_what_is_written_at_once(kept_receiver):
    """urllib3 writes a request's headers and its body separately. With Nagle's algorithm, the body waits
    for the receiver to acknowledge the headers, which a kept connection's receiver delays (40 ms on
    Linux): every delivery would wait for it. urllib3 turns the algorithm off on the sockets it opens, and
    so must the guard, which opens them instead."""
    with net.kept_session(deadline=5, keep_for=30, allowed_networks=["127.0.0.0/8"]) as (session, guard):
        session.post(kept_receiver.url, data=b"<x/>").close()
        opened = list(guard._sockets.values())  # duplicates: the same sockets, the same options
    assert len(opened) == 1
    assert opened[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_a_use_interrupted_by_an_exception_leaves_nothing_kept(kept_receiver):
    """A worker's soft time limit raises wherever the sender is; the connection may be mid-exchange."""
    options = {"deadline": 5, "keep_for": 30, "allowed_networks": ["127.0.0.0/8"]}
    with pytest.raises(RuntimeError), net.kept_session(**options) as (session, _):
        session.post(kept_receiver.url, data=b"<x/>").close()
        raise RuntimeError("the soft time limit")
    with net.kept_session(**options) as (session, _):
        session.post(kept_receiver.url, data=b"<x/>").close()
    assert connections_used(kept_receiver) == 2
