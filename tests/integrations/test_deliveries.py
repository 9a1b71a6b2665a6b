"""Deliveries to third-party endpoints: real HTTP on loopback, real Celery worker on real Redis."""

import hashlib
import hmac
import threading
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from lxml import etree

from facesite.devredis import free_port
from integrations import xml
from integrations.models import Delivery, Endpoint
from integrations.services import outbox, sending, upkeep
from integrations.tasks import send_delivery
from recognition.models import Collection, Image, Person
from recognition.services.analysis import image_analyse, image_reanalyse
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from recognition.services.stored import StoredResults
from tests import images
from tests.factories import PersonFactory
from tests.helpers import wait_for, without_creation_time
from tests.receiver import Receiver, Reply
from tests.servers import TrickleServer
from videos.models import Sighting, Video


def analysed_image(seed: int = 1) -> Image:
    """Analysed in this process (tests without a worker)."""
    image = image_ingest(data=images.jpeg((96, 72), seed=seed))
    return image_analyse(image_id=image.pk)


def uploaded_image(seed: int = 1) -> Image:
    """Uploaded for the running worker to analyse; its deliveries follow from there."""
    return image_ingest(data=images.jpeg((96, 72), seed=seed))


def delivery_of(image) -> Delivery:
    return Delivery.objects.get(image=image)


def finished(image):
    return Delivery.objects.filter(image=image, status__in=[Delivery.Status.DELIVERED, Delivery.Status.DEAD]).first()


def verify_signature(secret: str, headers: dict, body: bytes) -> bool:
    """What a receiver does (docs/INTEGRATIONS.md): recompute the HMAC and compare in constant time with
    each signature the header lists (two while a secret replaced still signs)."""
    expected = hmac.new(secret.encode(), headers["Facesite-Timestamp"].encode() + b"." + body, hashlib.sha256)
    given = [part.strip() for part in headers["Facesite-Signature"].split(",")]
    return any(hmac.compare_digest("sha256=" + expected.hexdigest(), signature) for signature in given)


@pytest.mark.django_db(transaction=True)
def test_delivery_arrives_signed_and_valid_against_the_schema(celery_worker, receiver, endpoint):
    person = PersonFactory(name="Ada Example", external_id="B-7")
    photo = images.jpeg((96, 72), seed=3)
    person_enroll(person=person, data=photo)
    image = image_ingest(data=photo)
    delivery = wait_for(lambda: finished(image))

    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 1
    [request] = receiver.received
    assert request.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert request.headers["Facesite-Event"] == "image.analysed"
    assert request.headers["Facesite-Idempotency-Key"] == delivery.idempotency_key
    assert verify_signature("s3cret-shared", request.headers, request.body)
    assert not verify_signature("wrong-secret", request.headers, request.body)

    document = etree.fromstring(request.body)
    xml.schema().assertValid(document)
    ns = {"f": xml.NAMESPACE}
    image.refresh_from_db()
    node = document.find("f:image", ns)
    assert node.get("id") == str(image.pk) and node.get("sha256") == image.sha256
    assert node.find("f:engine", ns).get("name") == "fake"
    assert {label.get("name") for label in node.iterfind("f:labels/f:label", ns)} >= {"Color", "Person"}
    matched = node.find("f:faces/f:face/f:person", ns)
    assert (matched.get("name"), matched.get("externalId"), float(matched.get("similarity"))) == (
        "Ada Example",
        "B-7",
        pytest.approx(100.0),
    )
    assert delivery.attempt_log.get().outcome == "delivered"


@pytest.mark.django_db(transaction=True)
def test_server_errors_are_retried_with_growing_backoff_until_delivered(
    celery_worker, receiver, endpoint, quick_retries
):
    receiver.reply(Reply(500), Reply(503), Reply(200))
    image = uploaded_image()
    delivery = wait_for(lambda: finished(image), timeout=30)
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.attempts == 3
    assert [a.outcome for a in delivery.attempt_log.all()] == ["retrying", "retrying", "delivered"]
    first, second, third = (r.at for r in receiver.received)
    # Base 0.4 s doubling, with jitter between half and all of it.
    assert second - first >= 0.2 and third - second >= 0.4
    keys = {r.headers["Facesite-Idempotency-Key"] for r in receiver.received}
    assert keys == {delivery.idempotency_key}, "retries reuse the idempotency key"


@pytest.mark.django_db(transaction=True)
def test_client_error_is_dead_after_one_attempt_with_the_reason(celery_worker, receiver, endpoint):
    receiver.reply(Reply(400, body=b"<error>unknown badge format</error>"))
    image = uploaded_image()
    delivery = wait_for(lambda: finished(image))
    assert delivery.status == Delivery.Status.DEAD and delivery.attempts == 1
    assert delivery.last_status_code == 400
    assert delivery.last_error == "HTTP 400: the endpoint refused the delivery."
    assert "unknown badge format" in delivery.last_response_excerpt
    assert len(receiver.received) == 1


@pytest.mark.django_db(transaction=True)
def test_a_document_too_large_for_the_receiver_is_dead_saying_its_size_and_what_to_raise(
    celery_worker, receiver, endpoint
):
    receiver.reply(Reply(413, body=b"<html>413 Request Entity Too Large</html>"))
    image = uploaded_image()
    delivery = wait_for(lambda: finished(image))
    assert delivery.status == Delivery.Status.DEAD and delivery.attempts == 1
    size = len(delivery.payload.encode())
    assert delivery.last_error == (f"HTTP 413: the endpoint refused the document as too large ({size:,} bytes). "
                                   "Raise the receiver's limit on request bodies (nginx: client_max_body_size), "
                                   "then resend it.")  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_receiver_down_then_up_gets_the_delivery_once_it_is_up(celery_worker, quick_retries, settings):
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the receiver's own network
    port = free_port()
    Endpoint.objects.create(name="Door", url=f"http://127.0.0.1:{port}/in", secret="k", events=["image.analysed"])
    image = uploaded_image()
    wait_for(lambda: Delivery.objects.filter(image=image, attempts__gte=2).exists(), timeout=30)
    delivery = delivery_of(image)
    assert "Could not connect: Connection refused" in delivery.last_error
    assert delivery.status in (Delivery.Status.RETRYING, Delivery.Status.DELIVERING)

    late = Receiver(port).start()
    try:
        delivery = wait_for(lambda: finished(image), timeout=30)
    finally:
        late.stop()
    assert delivery.status == Delivery.Status.DELIVERED
    assert len(late.received) == 1


def send_now(delivery: Delivery) -> Delivery:
    """Send ``delivery`` in this process at once, whatever its backoff says."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    sending.delivery_send(delivery_id=str(delivery.pk))
    return Delivery.objects.get(pk=delivery.pk)


@pytest.mark.django_db
def test_an_endpoint_whose_certificate_a_private_authority_signed_is_sent_to_once_that_authority_is_trusted(
    tls_receiver, private_ca, settings
):
    Endpoint.objects.create(name="ERP", url=tls_receiver.url, secret="k", events=["image.analysed"])
    delivery = delivery_of(analysed_image())

    refused = send_now(delivery)
    assert refused.status == Delivery.Status.RETRYING and tls_receiver.received == []
    assert refused.last_error == (
        "The endpoint's certificate was not accepted (unable to get local issuer certificate). If your own "
        "certificate authority signs it, name that authority's PEM file in FACESITE_CA_BUNDLE."
    )

    settings.FACESITE_CA_BUNDLE = str(private_ca.pem)
    assert send_now(delivery).status == Delivery.Status.DELIVERED
    [request] = tls_receiver.received
    assert verify_signature("k", request.headers, request.body)


@pytest.mark.django_db
def test_a_certificate_for_another_name_is_refused_though_a_trusted_authority_signed_it(trusted_ca):
    impostor = Receiver(tls=trusted_ca.server_context("erp.example.com")).start()
    try:
        Endpoint.objects.create(name="ERP", url=impostor.url, secret="k", events=["image.analysed"])
        delivery = send_now(delivery_of(analysed_image()))
    finally:
        impostor.stop()
    assert delivery.status == Delivery.Status.RETRYING and impostor.received == []
    assert "certificate was not accepted (IP address mismatch" in delivery.last_error


@pytest.mark.django_db
def test_an_https_receiver_trickling_its_answer_is_cut_off_at_the_endpoints_timeout(trusted_ca):
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"a" * 4000 + b"\r\n\r\n"  # a byte every few ms: 25 s
    with TrickleServer(head=head, interval=0.05, tls=trusted_ca.server_context()) as server:
        url = f"https://127.0.0.1:{server.port}/events"
        Endpoint.objects.create(name="ERP", url=url, secret="k", timeout_seconds=1, events=["image.analysed"])
        delivery = delivery_of(analysed_image())
        started = time.monotonic()
        delivery = send_now(delivery)
    assert time.monotonic() - started < 5, "ended by the endpoint's timeout, not by the receiver"
    assert delivery.status == Delivery.Status.RETRYING and delivery.last_error == "No answer within 1 s (timed out)."


@pytest.mark.django_db(transaction=True)
def test_slow_receiver_counts_as_a_failed_attempt(celery_worker, receiver, quick_retries):
    Endpoint.objects.create(name="Slow", url=receiver.url, secret="k", timeout_seconds=0.5, events=["image.analysed"])
    receiver.reply(Reply(200, delay=2.0))
    image = uploaded_image()
    delivery = wait_for(lambda: finished(image), timeout=30)
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 2
    first = delivery.attempt_log.first()
    assert first.outcome == "retrying" and first.error == "No answer within 0.5 s (timed out)."


@pytest.mark.django_db(transaction=True)
def test_too_many_requests_waits_as_long_as_retry_after_says(celery_worker, receiver, endpoint, quick_retries):
    receiver.reply(Reply(429, headers={"Retry-After": "2"}))
    image = uploaded_image()
    delivery = wait_for(lambda: finished(image), timeout=30)
    assert delivery.status == Delivery.Status.DELIVERED
    first, second = (r.at for r in receiver.received)
    assert second - first >= 2.0


@pytest.mark.django_db(transaction=True)
def test_the_same_send_message_twice_posts_once(transactional_db, receiver, endpoint, broker_url):
    from celery.contrib.testing.worker import start_worker

    from facesite.celery import app

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outbox, "enqueue", lambda *a, **k: None)  # hold back the automatic message
        image = analysed_image()
    delivery = delivery_of(image)
    send_delivery.delay(str(delivery.pk))
    send_delivery.delay(str(delivery.pk))
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        wait_for(lambda: finished(image))
        wait_for(lambda: app.connection().default_channel.client.llen("celery") == 0)
    assert len(receiver.received) == 1
    assert delivery_of(image).attempts == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_on_one_delivery_send_it_once(receiver, endpoint):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outbox, "enqueue", lambda *a, **k: None)
        image = analysed_image()
    delivery = delivery_of(image)
    receiver.reply(Reply(200, delay=0.5))
    results = []

    def send():
        try:
            results.append(sending.delivery_send(delivery_id=delivery.pk))
        finally:
            connection.close()  # this thread's own connection; left open it would block dropping the test database

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(receiver.received) == 1
    assert sum(r is not None for r in results) == 1


@pytest.mark.django_db
def test_redirects_are_not_followed(receiver, endpoint):
    receiver.reply(Reply(302, headers={"Location": "http://169.254.169.254/latest/meta-data"}))
    image = analysed_image()
    sending.delivery_send(delivery_id=delivery_of(image).pk)
    delivery = delivery_of(image)
    assert delivery.status == Delivery.Status.DEAD
    assert "redirects are not followed (Location: http://169.254.169.254/latest/meta-data)" in delivery.last_error
    assert len(receiver.received) == 1


@pytest.mark.django_db
def test_malformed_reply_body_is_kept_only_as_a_bounded_excerpt(receiver, endpoint, settings):
    settings.FACESITE_DELIVERY_RESPONSE_EXCERPT = 100
    receiver.reply(Reply(200, body=b"<<not xml" + b"\xff\xfe" * 5000))
    image = analysed_image()
    sending.delivery_send(delivery_id=delivery_of(image).pk)
    delivery = delivery_of(image)
    assert delivery.status == Delivery.Status.DELIVERED
    assert len(delivery.last_response_excerpt) <= 100


@pytest.mark.django_db
def test_failures_past_the_maximum_age_are_final(receiver, endpoint, settings):
    receiver.default = Reply(500)
    image = analysed_image()
    Delivery.objects.filter(image=image).update(give_up_at=timezone.now() + timedelta(seconds=1))
    sending.delivery_send(delivery_id=delivery_of(image).pk)
    delivery = delivery_of(image)
    assert delivery.status == Delivery.Status.DEAD
    assert delivery.last_error.startswith("Gave up after 1 attempts (maximum age reached). Last error: HTTP 500")


@pytest.mark.django_db
def test_delivery_not_yet_due_is_not_sent(receiver, endpoint):
    image = analysed_image()
    Delivery.objects.filter(image=image).update(
        status=Delivery.Status.RETRYING, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    assert sending.delivery_send(delivery_id=delivery_of(image).pk) is None
    assert receiver.received == []


@pytest.mark.django_db(transaction=True)
def test_replay_sends_again_with_the_same_key(celery_worker, receiver, endpoint):
    image = uploaded_image()
    delivery = wait_for(lambda: finished(image))
    assert upkeep.deliveries_replay(deliveries=[delivery]) == 1
    wait_for(lambda: len(receiver.received) == 2 and finished(image))
    first, second = receiver.received
    assert first.headers["Facesite-Idempotency-Key"] == second.headers["Facesite-Idempotency-Key"]
    assert second.headers["Facesite-Attempt"] == "2"
    assert [a.replay for a in delivery_of(image).attempt_log.all()] == [False, True]


@pytest.mark.django_db
def test_only_finished_deliveries_can_be_replayed(endpoint, django_capture_on_commit_callbacks):
    image = analysed_image()
    assert upkeep.deliveries_replay(deliveries=[delivery_of(image)]) == 0  # still pending


@pytest.mark.django_db
def test_sweeper_queues_deliveries_whose_message_was_lost(endpoint, django_capture_on_commit_callbacks):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outbox, "enqueue", lambda *a, **k: None)
        image = analysed_image()
    Delivery.objects.filter(image=image).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks() as callbacks:
        report = upkeep.deliveries_sweep()
    assert report.queued == 1 and len(callbacks) == 1


@pytest.mark.django_db
def test_sweeper_takes_back_a_delivery_whose_sender_died(endpoint, settings, django_capture_on_commit_callbacks):
    image = analysed_image()
    Delivery.objects.filter(image=image).update(
        status=Delivery.Status.DELIVERING, claimed_at=timezone.now() - timedelta(hours=1)
    )
    report = upkeep.deliveries_sweep()
    assert report.reclaimed == 1
    delivery = delivery_of(image)
    assert delivery.status == Delivery.Status.RETRYING
    assert "worker sending this delivery was lost" in delivery.last_error


@pytest.mark.django_db
def test_endpoint_filters_choose_who_is_told(receiver):
    everyone = Endpoint.objects.create(name="All", url=receiver.url, secret="k", events=["image.analysed"])
    identified_only = Endpoint.objects.create(
        name="Known", url=receiver.url, secret="k", events=["image.analysed"], only_identified=True
    )
    both = Endpoint.objects.create(
        name="Both", url=receiver.url, secret="k", events=["image.analysed", "person.identified"]
    )
    Endpoint.objects.create(name="Off", url=receiver.url, secret="k", enabled=False)

    stranger = analysed_image(seed=1)
    assert set(Delivery.objects.filter(image=stranger).values_list("endpoint__name", "event")) == {
        ("All", "image.analysed"),
        ("Both", "image.analysed"),
    }

    person = PersonFactory()
    photo = images.jpeg((96, 72), seed=9)
    person_enroll(person=person, data=photo)
    known = image_analyse(image_id=image_ingest(data=photo).pk)
    assert set(Delivery.objects.filter(image=known).values_list("endpoint__name", "event")) == {
        ("All", "image.analysed"),
        ("Known", "image.analysed"),
        ("Both", "image.analysed"),
        ("Both", "person.identified"),
    }
    assert everyone and identified_only and both


@pytest.mark.django_db
def test_an_endpoint_of_one_collection_hears_only_of_that_collections_images_and_videos(receiver):
    lobby, garage = Collection.objects.create(name="lobby"), Collection.objects.create(name="garage")
    events = ["image.analysed", "video.analysed"]
    Endpoint.objects.create(name="All", url=receiver.url, secret="k", events=events)
    Endpoint.objects.create(name="Lobby", url=receiver.url, secret="k", events=events, collection=lobby)
    Endpoint.objects.create(name="Lobby, known", url=receiver.url, secret="k", events=events, collection=lobby,
                            only_identified=True)  # fmt: skip

    def told(**subject) -> set[str]:
        return set(Delivery.objects.filter(**subject).values_list("endpoint__name", flat=True))

    garage_image = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=3), collection=garage).pk)
    lobby_image = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=4), collection=lobby).pk)
    assert told(image=garage_image) == {"All"}
    assert told(image=lobby_image) == {"All", "Lobby"}

    def video(collection: Collection, *, seen: Person | None) -> Video:
        made = Video.objects.create(collection=collection, sample_rate=2, chunk_seconds=10, status="done")
        Sighting.objects.create(video=made, person=seen, first_at=0, last_at=1, best_at=0.5)
        return made

    garage_video, lobby_video = video(garage, seen=PersonFactory()), video(lobby, seen=None)
    known_video = video(lobby, seen=PersonFactory())
    for each in (garage_video, lobby_video, known_video):
        outbox.deliveries_for_video(video=each)
    assert told(video=garage_video) == {"All"}
    assert told(video=lobby_video) == {"All", "Lobby"}
    assert told(video=known_video) == {"All", "Lobby", "Lobby, known"}


@pytest.fixture
def told_three_endpoints(receiver) -> Image:
    """An image analysed with three endpoints to tell, as the analysis holds it."""
    for name in ("One", "Two", "Three"):
        Endpoint.objects.create(name=name, url=receiver.url, secret="k", events=["image.analysed"])
    image = Image.objects.get(pk=image_ingest(data=images.jpeg((96, 72), seed=3)).pk)
    image_analyse(image_id=image.pk)
    return Image.objects.select_related("collection").get(pk=image.pk)


def assert_results_read_once(queries: CaptureQueriesContext) -> None:
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    for table in ("recognition_label", "recognition_textdetection", "recognition_moderationlabel"):
        assert sum(f'FROM "{table}"' in sql for sql in reads) == 1, table


@pytest.mark.django_db
def test_the_documents_for_several_endpoints_read_the_results_once(told_three_endpoints):
    image = told_three_endpoints
    with CaptureQueriesContext(connection) as queries:
        deliveries = outbox.deliveries_for_image(image=image)

    assert_results_read_once(queries)
    labels = list(image.labels.values_list("name", flat=True))
    assert len(deliveries) == 3 and labels
    assert all(f'name="{labels[0]}"' in delivery.payload for delivery in deliveries)
    image_parts = {delivery.payload[delivery.payload.index("<image ") :] for delivery in deliveries}
    assert len(image_parts) == 1, "each says the same about the image"


@pytest.mark.django_db
def test_a_redaction_rebuilds_each_document_of_an_image_from_one_read(told_three_endpoints):
    image = told_three_endpoints
    image.labels.update(name="Changed since")  # an erasure changes faces; this image has labels to change
    with CaptureQueriesContext(connection) as queries:
        rebuilt = outbox.deliveries_redact(image_ids=[image.pk], verification_ids=[])

    assert_results_read_once(queries)
    payloads = list(Delivery.objects.filter(image=image).values_list("payload", flat=True))
    assert rebuilt == len(payloads) == 3
    assert all('name="Changed since"' in payload for payload in payloads)


@pytest.mark.django_db
def test_an_analysis_tells_what_it_stored_without_reading_it_back(obama_and_biden, receiver):
    obama, _ = obama_and_biden
    Endpoint.objects.create(name="ERP", url=receiver.url, secret="k", events=["image.analysed", "person.identified"])
    features = ["labels", "faces", "text", "moderation", "properties"]
    photo = image_ingest(data=(images.FIXTURES / "obama.jpg").read_bytes(), features=features)
    enrolment = obama.faces.references().get().image  # analysed again, its reference face stays in the document
    image_reanalyse(image=enrolment)

    def analysed_and_told(image: Image) -> StoredResults:
        """Analyse ``image``; what it now holds, after checking that its documents say just that."""
        with CaptureQueriesContext(connection) as queries:
            image_analyse(image_id=image.pk)
        reads = " ".join(query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT"))
        for table in ("recognition_label", "recognition_textdetection", "recognition_moderationlabel"):
            assert f'FROM "{table}"' not in reads, table
        assert reads.count('FROM "recognition_person"') == 1, "the people matched are read once, and named"

        image = Image.objects.select_related("collection").get(pk=image.pk)
        results = StoredResults.read(image)
        deliveries = Delivery.objects.filter(image=image)
        assert {delivery.event for delivery in deliveries} == {"image.analysed", "person.identified"}
        for delivery in deliveries:
            rebuilt = xml.image_event(image, results, event=delivery.event, key=delivery.idempotency_key).decode()
            assert without_creation_time(delivery.payload) == without_creation_time(rebuilt)
        return results

    assert len(analysed_and_told(photo).labels) > 1
    assert sorted(face.is_reference for face in analysed_and_told(enrolment).faces) == [False, True]


@pytest.mark.django_db
def test_failed_analysis_tells_no_one(endpoint, settings):
    settings.RECOGNITION_ENGINE = {"BACKEND": "tests.engines.UnreadableEngine", "OPTIONS": {}}
    image = image_ingest(data=images.jpeg(seed=4))
    image_analyse(image_id=image.pk)
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_reanalysis_resends_under_the_same_key(endpoint):
    image = analysed_image()
    key = delivery_of(image).idempotency_key
    Delivery.objects.filter(image=image).update(status=Delivery.Status.DELIVERED)
    image_reanalyse(image=image)
    image_analyse(image_id=image.pk)
    delivery = delivery_of(image)
    assert delivery.idempotency_key == key and delivery.status == Delivery.Status.PENDING
    assert 'analysisNumber="2"' in delivery.payload


@pytest.mark.django_db
def test_a_delivery_is_written_in_two_statements_the_first_locking_its_row(endpoint):
    image = analysed_image()
    image = Image.objects.select_related("collection").get(pk=image.pk)  # as the analysis holds it
    Delivery.objects.all().delete()
    locks = connection.features.has_select_for_update  # SQLite locks the whole database instead

    def statements() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            outbox.deliveries_for_image(image=image)
        sql = [query["sql"] for query in queries.captured_queries]
        assert not [statement for statement in sql if "SAVEPOINT" in statement]
        writes = [statement for statement in sql if '"integrations_delivery"' in statement]
        assert not locks or "FOR UPDATE" in writes[0], "a sender's claim waits for the new document"
        return [statement.split()[0] for statement in writes]

    assert statements() == ["SELECT", "INSERT"]
    Delivery.objects.filter(image=image).update(status=Delivery.Status.DELIVERED)
    assert statements() == ["SELECT", "UPDATE"]
    assert delivery_of(image).status == Delivery.Status.PENDING


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["ftp://erp.example/in", "file:///etc/passwd", "http://user:pw@erp.example/in"])
def test_endpoint_urls_must_be_plain_http_or_https(url):
    with pytest.raises(ValidationError):
        Endpoint(name="x", url=url, secret="k").full_clean(exclude=["collection"])


@pytest.mark.django_db
def test_allow_list_limits_endpoint_hosts_when_saving_and_when_sending(receiver, endpoint, settings):
    settings.FACESITE_ENDPOINT_ALLOWED_HOSTS = ["erp.example.org"]
    with pytest.raises(ValidationError, match="not in FACESITE_ENDPOINT_ALLOWED_HOSTS"):
        Endpoint(name="x", url=receiver.url, secret="k").full_clean()
    image = analysed_image()  # the endpoint was saved before the allow-list changed
    sending.delivery_send(delivery_id=delivery_of(image).pk)
    delivery = delivery_of(image)
    assert delivery.status == Delivery.Status.DEAD and "not in FACESITE_ENDPOINT_ALLOWED_HOSTS" in delivery.last_error
    assert receiver.received == []


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(b"k", b"1700000000.<x/>", hashlib.sha256).hexdigest()
    assert sending.signature("k", "1700000000", b"<x/>") == f"sha256={expected}"


@pytest.mark.parametrize(("value", "seconds"), [("7", 7.0), (None, None), ("soon", None)])
def test_retry_after_is_read_as_seconds(value, seconds):
    assert sending._retry_after(value) == seconds


def test_retry_after_as_an_http_date():
    from email.utils import format_datetime

    when = format_datetime(timezone.now() + timedelta(seconds=30), usegmt=True)
    assert 25 <= sending._retry_after(when) <= 31


@pytest.mark.django_db(transaction=True)
def test_upload_to_delivery_end_to_end(celery_worker, receiver, endpoint, api_client):
    response = api_client.post("/api/images/", {"file": SimpleUploadedFile("p.jpg", images.jpeg(seed=50))})
    image_id = response.json()["id"]
    delivery = wait_for(lambda: finished(image_id))
    assert delivery.status == Delivery.Status.DELIVERED
    [request] = receiver.received
    assert etree.fromstring(request.body).find(f"{{{xml.NAMESPACE}}}image").get("id") == image_id

    listed = api_client.get("/api/deliveries/", {"image": image_id}).json()
    assert listed["count"] == 1 and listed["results"][0]["status"] == "delivered"
    resent = api_client.post(f"/api/deliveries/{delivery.pk}/resend/")
    assert resent.status_code == 202
    wait_for(lambda: len(receiver.received) == 2)
    again = api_client.post(f"/api/deliveries/{delivery.pk}/resend/")
    assert again.status_code in (202, 409)


@pytest.mark.django_db
def test_a_face_box_reads_the_same_in_the_api_and_in_the_xml(api_client):
    image = analysed_image(seed=3)
    [face] = api_client.get(f"/api/images/{image.pk}/").json()["faces"]
    document = etree.fromstring(xml.image_event(image, StoredResults.read(image), event="image.analysed", key="k"))
    [box] = document.findall(f".//{{{xml.NAMESPACE}}}face/{{{xml.NAMESPACE}}}boundingBox")
    assert {k: float(box.get(k)) for k in ("left", "top", "width", "height")} == pytest.approx(
        face["bounding_box"], abs=1e-6
    )
    assert set(face["bounding_box"]) == {"left", "top", "width", "height"}
