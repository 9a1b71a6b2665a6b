"""The REST API: every endpoint, its permissions and its bad inputs."""

import base64
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from backoffice import roles
from integrations.models import Delivery, DeliveryAttempt, Endpoint
from recognition.fetch import REFUSED_MESSAGE
from recognition.models import AuditEvent, Collection, Face, Image, Person, Verification
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.matching import faces_search, person_verify
from recognition.services.people import person_enroll
from tests import images
from tests.factories import PersonFactory, UserFactory
from tests.helpers import status_of, wait_for
from tests.images import FIXTURES
from tests.receiver import Reply

pytestmark = pytest.mark.django_db

LOCAL = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}


def photo(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def local_engine(settings):
    settings.RECOGNITION_ENGINE = LOCAL
    settings.FACESITE_ENROL_MIN_FACE_PIXELS = 60


@pytest.fixture
def obama(local_engine, face_search):
    person = PersonFactory(name="Barack Obama", external_id="B-44")
    person_enroll(person=person, data=photo("obama.jpg"))
    return person


# --- People -------------------------------------------------------------------------------


def test_people_are_filtered_by_whether_they_are_enrolled(api_client):
    from tests import images

    enrolled = PersonFactory(name="Ada Lovelace")
    person_enroll(person=enrolled, data=images.jpeg((200, 150), seed=71))
    PersonFactory(name="Grace Hopper")

    def names(value: str) -> list[str]:
        return [p["name"] for p in api_client.get("/api/people/", {"enrolled": value}).json()["results"]]

    assert names("true") == names("yes") == names("1") == names(" TRUE ") == ["Ada Lovelace"]
    assert names("false") == names("No") == names("0") == ["Grace Hopper"]
    assert len(names("")) == 2, "not given: not filtered"
    refused = api_client.get("/api/people/", {"enrolled": "maybe"})
    assert refused.status_code == 400, "rather than everyone listed as if it had not been asked"
    assert refused.json() == {"enrolled": ["'maybe' is neither true nor false (true, 1, yes; false, 0, no)."]}


def test_people_crud_search_and_filter(api_client, admin_client_api):
    created = api_client.post("/api/people/", {"name": "Grace Hopper", "external_id": " RFID-1 "}, format="json")
    assert created.status_code == 201, created.content
    person = created.json()
    assert person["external_id"] == "RFID-1" and person["reference_faces"] == 0
    api_client.post("/api/people/", {"name": "Alan Turing", "external_id": "RFID-2"}, format="json")

    assert [p["name"] for p in api_client.get("/api/people/", {"search": "hopper"}).json()["results"]] == [
        "Grace Hopper"
    ]
    assert api_client.get("/api/people/", {"external_id": "RFID-2"}).json()["count"] == 1
    assert api_client.get("/api/people/", {"enrolled": "true"}).json()["count"] == 0

    patched = api_client.patch(f"/api/people/{person['id']}/", {"notes": "visitor"}, format="json")
    assert patched.status_code == 200 and patched.json()["notes"] == "visitor"
    assert api_client.delete(f"/api/people/{person['id']}/").status_code == 403, "operators cannot erase"
    assert admin_client_api.delete(f"/api/people/{person['id']}/").status_code == 204
    assert not Person.objects.filter(pk=person["id"]).exists()


def test_external_id_must_be_unique(api_client):
    PersonFactory(external_id="B-1")
    response = api_client.post("/api/people/", {"name": "Copy", "external_id": "B-1"}, format="json")
    assert response.status_code == 400
    assert response.json()["external_id"] == ["Another person already has this external id."]


def test_people_without_badges_do_not_collide(api_client):
    for name in ("A", "B"):
        assert api_client.post("/api/people/", {"name": name, "external_id": ""}, format="json").status_code == 201


def test_enrolment_by_file_and_by_base64(api_client, local_engine):
    person = PersonFactory()
    by_file = api_client.post(f"/api/people/{person.pk}/faces/", {"file": upload("o.jpg", photo("obama.jpg"))})
    assert by_file.status_code == 201, by_file.content
    face = by_file.json()
    assert face["is_reference"] and face["person"]["id"] == str(person.pk)
    by_b64 = api_client.post(
        f"/api/people/{person.pk}/faces/", {"image_base64": b64(photo("obama2.jpg"))}, format="json"
    )
    assert by_b64.status_code == 201
    listed = api_client.get(f"/api/people/{person.pk}/faces/").json()
    assert len(listed) == 2
    assert api_client.get(f"/api/people/{person.pk}/").json()["reference_faces"] == 2


@pytest.mark.parametrize(
    ("name", "code"),
    [("dog.jpg", "no_face"), ("messi5.jpg", "face_too_small")],
)
def test_enrolment_refuses_unusable_photos_with_422(api_client, local_engine, name, code):
    person = PersonFactory()
    response = api_client.post(f"/api/people/{person.pk}/faces/", {"file": upload(name, photo(name))})
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert not Face.objects.exists() and not Image.objects.exists()


def test_where_consent_is_required_enrolment_waits_until_it_is_on_record(api_client, local_engine, settings):
    settings.FACESITE_ENROL_REQUIRES_CONSENT = True
    person = PersonFactory(name="Ada", consent_given_at=None)
    refused = api_client.post(f"/api/people/{person.pk}/faces/", {"file": upload("o.jpg", photo("obama.jpg"))})
    assert (refused.status_code, refused.json()["code"]) == (422, "no_consent")
    assert refused.json()["detail"].startswith("Ada has no consent on record")
    assert not Face.objects.exists() and not Image.objects.exists()
    assert AuditEvent.objects.get(action=AuditEvent.Action.PERSON_ENROL_REFUSED).details["code"] == "no_consent"

    recorded = api_client.patch(
        f"/api/people/{person.pk}/", {"consent_given_at": "2026-12-06T09:00:00Z"}, format="json"
    )
    assert recorded.status_code == 200
    enrolled = api_client.post(f"/api/people/{person.pk}/faces/", {"file": upload("o.jpg", photo("obama.jpg"))})
    assert enrolled.status_code == 201, enrolled.content


def test_where_consent_is_required_it_is_withdrawn_only_with_the_face_it_covers(
    api_client, admin_client_api, local_engine, settings
):
    from django.test import Client
    from django.urls import reverse

    settings.FACESITE_ENROL_REQUIRES_CONSENT = True
    person = PersonFactory(name="Ada", consent_given_at="2026-12-01T09:00:00Z")
    face = api_client.post(f"/api/people/{person.pk}/faces/", {"file": upload("o.jpg", photo("obama.jpg"))}).json()
    withdrawn = api_client.patch(f"/api/people/{person.pk}/", {"consent_given_at": None}, format="json")
    assert withdrawn.status_code == 400
    assert withdrawn.json()["consent_given_at"][0].startswith("Ada's face is kept as a reference on this consent")
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    form = {"name": "Ada", "external_id": person.external_id, "notes": "", "consent_given_at_0": "",
            "consent_given_at_1": ""}  # fmt: skip
    page = admin.post(reverse("admin:recognition_person_change", args=[person.pk]), form)
    assert page.status_code == 200 and "face is kept as a reference on this consent" in page.content.decode()
    person.refresh_from_db()
    assert person.consent_given_at is not None, "neither way cleared it"

    assert admin_client_api.delete(f"/api/people/{person.pk}/faces/{face['id']}/").status_code == 204
    cleared = api_client.patch(f"/api/people/{person.pk}/", {"consent_given_at": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["consent_given_at"] is None


def test_enrolment_refuses_a_blurry_face(api_client, local_engine):
    import io

    from PIL import Image as PILImage
    from PIL import ImageFilter

    blurred = PILImage.open(io.BytesIO(photo("obama.jpg"))).filter(ImageFilter.GaussianBlur(12))
    response = api_client.post(
        f"/api/people/{PersonFactory().pk}/faces/", {"file": upload("b.jpg", images.encode(blurred, "JPEG"))}
    )
    assert response.status_code == 422
    assert response.json()["code"] in ("face_too_blurry", "no_face")


def test_removing_a_reference_face(admin_client_api, api_client, obama):
    face = obama.faces.get(is_reference=True)
    assert api_client.delete(f"/api/people/{obama.pk}/faces/{face.pk}/").status_code == 403
    assert admin_client_api.delete(f"/api/people/{obama.pk}/faces/{face.pk}/").status_code == 204
    assert not obama.faces.exists()
    assert not Image.objects.filter(source=Image.Source.ENROLMENT).exists(), "the enrolment photo goes too"
    assert admin_client_api.delete(f"/api/people/{obama.pk}/faces/{face.pk}/").status_code == 404


def test_erasing_a_person_removes_every_trace(
    admin_client_api, obama, media_root, django_capture_on_commit_callbacks, receiver, settings
):
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType
    from lxml import etree

    from integrations.services import sending, upkeep
    from integrations.xml import schema
    from recognition.services import thumbnails

    Endpoint.objects.create(name="Door", url=receiver.url, secret="s", timeout_seconds=5,
                            events=["image.analysed", "person.identified", "verification.result"])  # fmt: skip
    sighting = image_analyse(image_id=image_ingest(data=photo("obama2.jpg")).pk)
    assert sighting.faces.get().person == obama
    check = person_verify(external_id="B-44", data=photo("obama3.jpg"), threshold=80)
    # A face that merely had them as candidate (below a raised threshold), and the admin's log of a change.
    settings.FACESITE_MATCH_THRESHOLD = 99.9
    maybe = image_analyse(image_id=image_ingest(data=photo("obama3.jpg")).pk).faces.get()
    settings.FACESITE_MATCH_THRESHOLD = 80
    assert maybe.candidate == obama and maybe.person is None and maybe.embedding is not None
    LogEntry.objects.create(user=UserFactory(), content_type=ContentType.objects.get_for_model(Person),
                            object_id=str(obama.pk), object_repr=str(obama), action_flag=CHANGE,
                            change_message="Changed notes.")  # fmt: skip
    # The door system's answer to the check echoes the name back: kept as an excerpt, for now.
    receiver.reply(Reply(200, body=b"<ok>welcome, Barack Obama</ok>"))
    sending.delivery_send(delivery_id=Delivery.objects.get(event="verification.result").pk)
    assert "Barack Obama" in Delivery.objects.get(event="verification.result").last_response_excerpt
    receiver.received.clear()
    before = list(Delivery.objects.values_list("payload", flat=True))
    # The sighting (analysed, person identified), the check, and the candidate's image (analysed).
    assert len(before) == 4 and sum("Barack Obama" in p and "B-44" in p for p in before) == 3

    reference = obama.faces.get(is_reference=True)
    # As the back office (112) and a door kiosk (160) cache them.
    crops = [thumbnails.face_crop(face, size=size) for face in (reference, sighting.faces.get())
             for size in thumbnails.FACE_CROP_SIZES]  # fmt: skip
    thumbnails.image_thumbnail(reference.image, size=160)
    assert all(crops) and len(list(media_root.rglob("thumbs/**/*.jpg"))) == 5
    files_before = {p for p in media_root.rglob("*") if p.is_file() and "thumbs" not in p.parts}

    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client_api.delete(f"/api/people/{obama.pk}/").status_code == 204

    assert not Person.objects.exists()
    assert not Face.objects.filter(is_reference=True).exists()
    assert not sighting.faces.exists(), "faces matched to them in other images are erased"
    assert Image.objects.filter(pk=sighting.pk).exists(), "the other image itself stays"
    assert not Image.objects.filter(source=Image.Source.ENROLMENT).exists()
    files_after = {p for p in media_root.rglob("*") if p.is_file() and "thumbs" not in p.parts}
    assert len(files_before) - len(files_after) == 1, "the reference photo's file is deleted"
    assert list(media_root.rglob("thumbs/**/*.jpg")) == [], "no cached crop or thumbnail of them is left"
    check.refresh_from_db()
    reference = check.external_id
    assert check.person is None and reference.startswith("erased-"), "the check keeps its outcome, not the badge"
    event = AuditEvent.objects.get(action="person.erase")
    assert event.details["reference_faces"] == 1 and event.details["matched_faces"] == 1
    assert event.details["person"] == reference and "name" not in event.details and "external_id" not in event.details
    assert AuditEvent.objects.get(action="person.verify").details["external_id"] == reference
    assert not AuditEvent.objects.filter(details__icontains="Obama").exists()
    # Case-sensitive: "b-44" turns up inside one UUID in 256 (a second group ending in b, then version 4, then 4).
    assert not [e for e in AuditEvent.objects.filter(details__icontains="B-44") if "B-44" in json.dumps(e.details)]
    maybe.refresh_from_db()
    assert maybe.candidate is None and maybe.similarity is None and maybe.embedding is None
    assert LogEntry.objects.get().object_repr == reference and LogEntry.objects.get().change_message == ""

    # Every delivery, pending or sent, now carries the redacted document, valid against the schema...
    payloads = list(Delivery.objects.values_list("payload", flat=True))
    assert len(payloads) == 4
    for payload in payloads:
        assert "Obama" not in payload and "B-44" not in payload
        assert schema().validate(etree.fromstring(payload.encode()))
    # ...and what a receiver answered about them (here, their name echoed back) is forgotten.
    assert not Delivery.objects.filter(last_response_excerpt__icontains="Obama").exists()
    assert not DeliveryAttempt.objects.filter(response_excerpt__icontains="Obama").exists()
    assert sum(reference in p for p in payloads) == 1, "the check's document names only the pseudonym"
    # ...and that is what goes out, the first time and on a resend.
    for delivery in Delivery.objects.all():
        sending.delivery_send(delivery_id=delivery.pk)
    assert upkeep.deliveries_replay(deliveries=Delivery.objects.all()) == 4
    for delivery in Delivery.objects.all():
        sending.delivery_send(delivery_id=delivery.pk)
    assert len(receiver.received) == 7, "the three still pending, then all four again"
    assert not any(b"Obama" in r.body or b"B-44" in r.body for r in receiver.received)
    # Searching no longer finds them: the engine's index refreshed.
    assert faces_search(data=photo("obama2.jpg"), collection=Collection.get_default(), threshold=0,
                                 max_matches=5)[0].matches == []  # fmt: skip


# --- Images ---------------------------------------------------------------------------------


def test_upload_by_base64(api_client):
    response = api_client.post("/api/images/", {"image_base64": b64(images.jpeg(seed=1))}, format="json")
    assert response.status_code == 202
    assert Image.objects.get(pk=response.json()["id"]).source == Image.Source.BASE64


def test_upload_by_data_url(api_client):
    data_url = "data:image/jpeg;base64," + b64(images.jpeg(seed=2))
    assert api_client.post("/api/images/", {"image_base64": data_url}, format="json").status_code == 202


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"image_base64": "not base64!!"}, "Not valid base64"),
        ({"image_base64": b64(b"just text, no image")}, "not in any known image format"),
        ({}, "Send exactly one of file, image_base64 or url."),
        ({"image_base64": b64(images.jpeg()), "url": "https://example.org/a.jpg"}, "Send exactly one"),
        ({"url": "ftp://example.org/a.jpg"}, "Only http:// and https:// URLs"),
        (
            {"url": "http://169.254.169.254/latest/meta-data"},
            REFUSED_MESSAGE,
        ),
        ({"url": "http://[::1]/x.jpg"}, REFUSED_MESSAGE),
        ({"image_base64": b64(images.jpeg()), "features": ["telepathy"]}, "is not a valid choice"),
    ],
)
def test_bad_upload_bodies_are_clear_400s(api_client, media_root, body, message):
    response = api_client.post("/api/images/", body, format="json")
    assert response.status_code == 400, response.content
    assert message in response.content.decode()
    assert not Image.objects.exists()


def test_oversized_base64_is_refused_before_decoding(api_client, settings):
    settings.FACESITE_MAX_UPLOAD_BYTES = 10_000
    response = api_client.post("/api/images/", {"image_base64": "A" * 40_000}, format="json")
    assert response.status_code == 400
    assert "the limit is 10,000 bytes" in response.content.decode()


def test_identical_bytes_return_the_existing_image_unless_duplicates_are_allowed(api_client):
    data = images.jpeg(seed=7)
    first = api_client.post("/api/images/", {"file": upload("a.jpg", data)})
    again = api_client.post("/api/images/", {"file": upload("b.jpg", data)})
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    forced = api_client.post("/api/images/", {"file": upload("c.jpg", data), "allow_duplicate": "true"})
    assert forced.status_code == 202 and forced.json()["id"] != first.json()["id"]


def test_image_list_filters(api_client, reviewer_client):
    person = PersonFactory()
    data = images.jpeg((96, 72), seed=8)
    person_enroll(person=person, data=data)
    known = image_analyse(image_id=image_ingest(data=data).pk)
    other = image_analyse(image_id=image_ingest(data=images.solid((10, 10, 240))).pk)
    pending = image_ingest(data=images.jpeg(seed=9))

    def ids(**params):
        return {r["id"] for r in reviewer_client.get("/api/images/", params).json()["results"]}

    assert ids(status="done") >= {str(known.pk), str(other.pk)} and str(pending.pk) not in ids(status="done")
    assert ids(person=str(person.pk)) == {str(known.pk)}
    assert ids(label="blue") == {str(other.pk)}
    assert ids(source="enrolment") and ids(collection="default")
    assert ids(created_after="2100-01-01T00:00:00Z") == set()
    listed = reviewer_client.get("/api/images/", {"person": str(person.pk)}).json()["results"][0]
    assert listed["faces"] == 1 and listed["people"][0]["id"] == str(person.pk)
    assert reviewer_client.get("/api/images/", {"created_after": "yesterday"}).status_code == 400
    # Offsets Python accepts but PostgreSQL does not (found by Schemathesis): compared in UTC.
    assert ids(created_after="0520-02-05T14:29:45+19:19") >= {str(known.pk), str(other.pk)}


def test_image_detail_includes_results_and_deliveries(api_client, receiver, endpoint):
    image = image_analyse(image_id=image_ingest(data=images.jpeg(seed=10)).pk)
    detail = api_client.get(f"/api/images/{image.pk}/").json()
    assert detail["status"] == "done"
    assert detail["labels"] and detail["faces"]
    assert detail["deliveries"][0]["endpoint"] == "ERP"
    assert AuditEvent.objects.filter(action="image.view", object_id=str(image.pk)).exists()


def test_deleting_an_image_needs_the_administrator_role(
    api_client, admin_client_api, media_root, django_capture_on_commit_callbacks
):
    image = image_analyse(image_id=image_ingest(data=images.jpeg(seed=11)).pk)
    from recognition.services import thumbnails

    thumbnails.image_thumbnail(image, size=800)
    thumbnails.face_crop(image.faces.get())
    assert api_client.delete(f"/api/images/{image.pk}/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client_api.delete(f"/api/images/{image.pk}/").status_code == 204
    assert not Image.objects.exists()
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


def test_unknown_ids_are_404_not_500(api_client):
    assert api_client.get("/api/images/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert api_client.get("/api/images/not-a-uuid/").status_code == 404
    assert api_client.get("/api/people/not-a-uuid/faces/").status_code == 404


# --- URL uploads ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_url_upload_is_fetched_by_the_worker(celery_worker, api_client, settings, image_server):
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the test server is on loopback
    response = api_client.post("/api/images/", {"url": image_server.url_for("cam.jpg")}, format="json")
    assert response.status_code == 202 and response.json()["source"] == "url"
    image_id = response.json()["id"]
    wait_for(lambda: status_of(image_id) in ("done", "failed"))
    image = Image.objects.get(pk=image_id)
    assert image.status == "done", image.error
    assert image.read_bytes() == image_server.body and image.width == 96


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("path", "host", "allow_loopback", "limit", "reason"),
    [
        # The name passes the pre-check; the connection lands on loopback and is refused.
        (
            "cam.jpg",
            "localhost",
            False,
            None,
            REFUSED_MESSAGE,
        ),
        (
            "redirect",
            "127.0.0.1",
            True,
            None,
            REFUSED_MESSAGE,
        ),
        ("page.html", "127.0.0.1", True, None, "did not give an acceptable image"),
        ("cam.jpg", "127.0.0.1", True, 1024, "the limit is 1,024 bytes"),
    ],
    ids=["private-address", "redirect-to-metadata", "not-an-image", "too-large"],
)
def test_refused_url_fails_the_image_with_the_reason(
    celery_worker, api_client, settings, image_server, path, host, allow_loopback, limit, reason
):
    if allow_loopback:
        settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    if limit:
        settings.FACESITE_MAX_UPLOAD_BYTES = limit
        assert len(image_server.body) > limit
    url = image_server.url_for(path).replace("127.0.0.1", host)
    image_id = api_client.post("/api/images/", {"url": url}, format="json").json()["id"]
    wait_for(lambda: status_of(image_id) in ("done", "failed"))
    image = Image.objects.get(pk=image_id)
    assert image.status == "failed" and reason in image.error
    assert not image.file
    if not allow_loopback:
        assert image_server.requests == 0, "nothing was even asked of the private server"


# --- Search, verify, compare -------------------------------------------------------------------


@pytest.mark.face_search
def test_search_finds_the_enrolled_person_and_not_a_stranger(api_client, obama):
    found = api_client.post("/api/search/", {"file": upload("o2.jpg", photo("obama2.jpg"))}).json()
    [face] = found["faces"]
    assert face["matches"][0]["person"]["external_id"] == "B-44"
    assert face["matches"][0]["similarity"] > 80
    assert face["matches"][0]["face_id"] == str(obama.faces.get(is_reference=True).pk), "the face that matched"
    stranger = api_client.post("/api/search/", {"image_base64": b64(photo("biden.jpg"))}, format="json").json()
    assert stranger["faces"][0]["matches"] == []
    lenient = api_client.post(
        "/api/search/", {"image_base64": b64(photo("biden.jpg")), "threshold": 10}, format="json"
    ).json()
    assert lenient["threshold"] == 10 and lenient["faces"][0]["matches"][0]["similarity"] < 80
    nobody = api_client.post("/api/search/", {"file": upload("d.jpg", photo("dog.jpg"))}).json()
    assert nobody["faces"] == []
    assert AuditEvent.objects.filter(action="faces.search").count() == 4


@pytest.mark.face_search
@pytest.mark.parametrize(
    ("badge", "name", "outcome", "match"),
    [
        ("B-44", "obama3.jpg", "match", True),
        ("B-44", "biden.jpg", "no_match", False),
        ("NOPE", "obama3.jpg", "unknown_badge", False),
        ("B-44", "dog.jpg", "no_face", False),
    ],
)
def test_verify_outcomes(api_client, obama, badge, name, outcome, match):
    response = api_client.post("/api/verify/", {"external_id": badge, "file": upload(name, photo(name))})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["outcome"], body["match"], body["threshold"]) == (outcome, match, 80.0)
    if outcome == "match":
        assert body["similarity"] > 80 and body["person"]["name"] == "Barack Obama"
    if outcome == "no_match":
        assert body["similarity"] < 80
    verification = Verification.objects.get(pk=body["verification_id"])
    assert verification.requested_by is not None and verification.outcome == outcome
    assert AuditEvent.objects.filter(action="person.verify", object_id=body["verification_id"]).exists()


@pytest.mark.face_search
def test_verify_with_several_faces_and_without_reference(api_client, obama):
    import io

    from PIL import Image as PILImage

    group = PILImage.new("RGB", (800, 500), "white")
    for i, name in enumerate(["obama2.jpg", "biden.jpg"]):
        group.paste(PILImage.open(io.BytesIO(photo(name))).convert("RGB").resize((400, 500)), (400 * i, 0))
    body = {"external_id": "B-44", "image_base64": b64(images.encode(group, "JPEG"))}
    several = api_client.post("/api/verify/", body, format="json")
    assert several.json()["outcome"] == "several_faces"
    PersonFactory(external_id="NEW-1")
    unenrolled = api_client.post("/api/verify/", {"external_id": "NEW-1", "file": upload("o.jpg", photo("obama.jpg"))})
    assert unenrolled.json()["outcome"] == "no_reference"


def test_verify_tells_endpoints_that_want_verification_results(api_client, obama, receiver):
    from integrations import xml

    Endpoint.objects.create(name="Door", url=receiver.url, secret="k", events=["verification.result"])
    body = api_client.post("/api/verify/", {"external_id": "B-44", "file": upload("o.jpg", photo("obama3.jpg"))}).json()
    delivery = Delivery.objects.get(event="verification.result")
    from lxml import etree

    document = etree.fromstring(delivery.payload.encode())
    xml.schema().assertValid(document)
    node = document.find(f"{{{xml.NAMESPACE}}}verification")
    assert node.get("id") == body["verification_id"] and node.get("match") == "true"


def test_verify_bad_inputs(api_client, obama):
    assert api_client.post("/api/verify/", {"file": upload("o.jpg", photo("obama.jpg"))}).status_code == 400
    assert api_client.post("/api/verify/", {"external_id": "B-44"}).status_code == 400
    corrupt = api_client.post(
        "/api/verify/", {"external_id": "B-44", "file": upload("x.jpg", photo("obama.jpg")[:999])}
    )
    assert corrupt.status_code == 400 and "corrupt or truncated" in corrupt.content.decode()
    threshold = api_client.post(
        "/api/verify/", {"external_id": "B-44", "file": upload("o.jpg", photo("obama.jpg")), "threshold": 150}
    )
    assert threshold.status_code == 400


def test_compare_scores_each_face_of_the_target(api_client, local_engine):
    same = api_client.post(
        "/api/compare/", {"source": upload("a.jpg", photo("obama.jpg")), "target": upload("b.jpg", photo("obama2.jpg"))}
    ).json()
    assert same["faces"][0]["match"] and same["faces"][0]["similarity"] > 80
    different = api_client.post(
        "/api/compare/",
        {"source": b64(photo("obama.jpg")), "target": b64(photo("biden.jpg")), "threshold": 80},
        format="json",
    ).json()
    assert not different["faces"][0]["match"] and different["faces"][0]["similarity"] < 80
    no_face = api_client.post(
        "/api/compare/", {"source": upload("d.jpg", photo("dog.jpg")), "target": upload("b.jpg", photo("biden.jpg"))}
    )
    assert no_face.status_code == 422 and "No face" in no_face.json()["detail"]


def test_sync_endpoints_are_throttled(api_client, local_engine, settings):
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"sync": "2/min"}}
    from rest_framework.throttling import ScopedRateThrottle

    # DRF reads the rates into a class attribute at import; put back the original, not the override.
    original_rates = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = {"sync": "2/min"}
    try:
        answers = [
            api_client.post("/api/search/", {"image_base64": b64(images.jpeg(seed=1))}, format="json") for _ in range(3)
        ]
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original_rates
        cache.clear()
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == "throttled" and int(answers[2]["Retry-After"]) > 0, "as the schema says"


# --- Roles ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/images/", {"image_base64": "x"}),
        ("post", "/api/people/", {"name": "x"}),
        ("post", "/api/verify/", {"external_id": "x"}),
        ("post", "/api/search/", {}),
        ("post", "/api/compare/", {}),
        ("post", "/api/collections/", {"name": "vip"}),
    ],
)
def test_reviewers_can_read_but_not_act(reviewer_client, method, path, body):
    assert getattr(reviewer_client, method)(path, body, format="json").status_code == 403


@pytest.mark.parametrize("path", ["/api/images/", "/api/people/", "/api/collections/", "/api/deliveries/"])
def test_reading_needs_a_role(no_role_client, reviewer_client, path):
    assert no_role_client.get(path).status_code == 403
    assert reviewer_client.get(path).status_code == 200
    assert APIClient().get(path).status_code == 401


def test_collections_are_created_by_administrators(api_client, admin_client_api):
    assert api_client.post("/api/collections/", {"name": "vip"}, format="json").status_code == 403
    created = admin_client_api.post("/api/collections/", {"name": "vip", "description": "VIP guests"}, format="json")
    assert created.status_code == 201 and created.json()["description"] == "VIP guests"
    event = AuditEvent.objects.get(action=AuditEvent.Action.COLLECTION_CREATE)
    assert event.object_id == str(created.json()["id"]) and event.actor.groups.get().name == roles.ADMINISTRATOR
    assert {c["name"] for c in api_client.get("/api/collections/").json()["results"]} == {"default", "vip"}
    assert admin_client_api.post("/api/collections/", {"name": "vip"}, format="json").status_code == 400


def test_schema_and_offline_docs_are_served(api_client):
    schema = api_client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/api/images/", "/api/people/{id}/faces/", "/api/verify/", "/api/search/", "/api/compare/",
                 "/api/collections/", "/api/deliveries/{id}/resend/"):  # fmt: skip
        assert path in text
    docs = api_client.get("/api/docs/")
    assert docs.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.content.decode())
    assert assets and all(url.startswith("/") and not url.startswith("//") for url in assets), (
        f"Swagger UI assets are served locally: {assets}"
    )  # not a search for "cdn": the page's random CSRF token holds those letters now and then


def test_erasure_can_also_delete_images_where_they_are_the_only_face(
    admin_client_api, obama, settings, django_capture_on_commit_callbacks
):
    settings.FACESITE_ERASE_SOLE_SUBJECT_IMAGES = True
    alone = image_analyse(image_id=image_ingest(data=photo("obama2.jpg")).pk)
    landscape = image_analyse(image_id=image_ingest(data=photo("dog.jpg")).pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client_api.delete(f"/api/people/{obama.pk}/").status_code == 204
    assert not Image.objects.filter(pk=alone.pk).exists()
    assert Image.objects.filter(pk=landscape.pk).exists()
    assert AuditEvent.objects.get(action="person.erase").details["sole_subject_images"] == 1


def test_compare_decodes_each_image_once(api_client, local_engine, monkeypatch):
    """Checked at the door and compared by the engine, each picture is decoded a single time."""
    from PIL import ImageFile

    decoded = []
    load = ImageFile.ImageFile.load

    def counting_load(self):
        if self._im is None:  # a real decode, not a no-op on an already loaded image
            decoded.append(self.size)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    response = api_client.post(
        "/api/compare/", {"source": upload("a.jpg", photo("obama.jpg")), "target": upload("b.jpg", photo("biden.jpg"))}
    )
    assert response.status_code == 200
    assert len(decoded) == 2, decoded
