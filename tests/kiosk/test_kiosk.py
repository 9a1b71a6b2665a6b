"""The door kiosk's server side: the Kiosk role, the check it posts, what the screen may show, the records it
leaves, and the head-turn challenge on frames built from real photos, with the real local engine."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from lxml import etree
from PIL import Image, ImageOps

from backoffice import roles
from integrations.models import Delivery, Endpoint
from integrations.xml import schema
from kiosk.models import Kiosk
from recognition.models import AuditEvent, Verification
from recognition.services.liveness import head_turn_check
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.images import FIXTURES, encode

pytestmark = pytest.mark.django_db


def photo(name: str, *, mirrored: bool = False) -> bytes:
    picture = Image.open(FIXTURES / name).convert("RGB")
    return encode(ImageOps.mirror(picture) if mirrored else picture, "JPEG", quality=92)


# obama2.jpg shows Obama turned to his right (yaw -34); mirrored, the same head is turned to his left (+41).
FACING = photo("obama.jpg")
LEFT = photo("obama2.jpg", mirrored=True)
RIGHT = photo("obama2.jpg")


@pytest.fixture
def kiosk(db):
    user = UserFactory(username="kiosk-front", role=roles.KIOSK)
    return Kiosk.objects.create(name="front-door", location="Front door", user=user)


@pytest.fixture
def screen(kiosk) -> Client:
    client = Client()
    client.force_login(kiosk.user)
    return client


def check(screen: Client, badge: str, face: bytes, frames: list[bytes] = ()) -> dict:
    files = {"badge": badge, "photo": io.BytesIO(face)}
    if frames:
        files["frames"] = [io.BytesIO(f) for f in frames]
    response = screen.post(reverse("kiosk:verify"), files)
    assert response.status_code == 200, response.content
    return response.json()


# The head-turn challenge -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sequence", [[FACING, LEFT, FACING, RIGHT], [LEFT, LEFT, FACING, RIGHT, RIGHT]])
def test_a_head_turning_left_then_right_passes(local_engine, sequence):
    result = head_turn_check(sequence)
    assert result.passed, result
    assert max(result.yaws) >= 15 and min(result.yaws) <= -15


@pytest.mark.parametrize(
    ("frames", "reason"),
    [
        ([FACING] * 6, "did not turn"),  # a printed photo or a still on a phone
        ([LEFT] * 6, "did not turn"),  # a still of a turned head
        ([FACING, RIGHT, FACING, LEFT], "did not turn left, then right"),  # the wrong order
        ([FACING, LEFT, FACING, photo("biden.jpg")], "changed"),  # someone else finishes the turn
        ([FACING, photo("dog.jpg"), photo("dog.jpg")], "not seen long enough"),
    ],
    ids=["same still", "turned still", "right then left", "another face", "no face"],
)
def test_sequences_that_are_not_a_turn_of_one_head_fail(local_engine, frames, reason):
    result = head_turn_check(frames)
    assert not result.passed and reason in result.reason


# Checks at the kiosk -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_badge_holders_face_is_accepted_and_others_are_refused_with_a_neutral_reason(
    screen, kiosk, obama_and_biden
):
    accepted = check(screen, "OBAMA-44", FACING)
    assert accepted["accepted"] and accepted["name"] == "Barack Obama"
    assert accepted["thumbnail"].startswith("data:image/jpeg;base64,")

    wrong_face = check(screen, "BIDEN-46", FACING)
    assert wrong_face == {**wrong_face, "accepted": False, "reason": "Face does not match", "name": "", "thumbnail": ""}
    assert check(screen, "NOBODY-1", FACING)["reason"] == "Unknown badge"
    assert check(screen, "OBAMA-44", photo("dog.jpg"))["reason"] == "No face seen"

    records = Verification.objects.order_by("created_at")
    assert [(v.outcome, v.device) for v in records] == [
        ("match", "front-door"), ("no_match", "front-door"), ("unknown_badge", "front-door"), ("no_face", "front-door"),
    ]  # fmt: skip
    assert all(v.requested_by == kiosk.user and v.threshold == 80.0 for v in records)
    audited = AuditEvent.objects.filter(action=AuditEvent.Action.PERSON_VERIFY, actor=kiosk.user)
    assert audited.count() == 4 and {e.details["device"] for e in audited} == {"front-door"}


def test_a_kiosk_guessed_at_with_unknown_badges_pauses_and_says_for_how_long(screen, kiosk, obama_and_biden, settings):
    settings.FACESITE_KIOSK_UNKNOWN_BADGES, settings.FACESITE_KIOSK_PAUSE_SECONDS = 3, 60
    assert check(screen, "BIDEN-46", FACING)["reason"] == "Face does not match", "a known badge is no guess"
    for n in range(3):
        assert check(screen, f"GUESS-{n}", FACING)["reason"] == "Unknown badge"

    paused = screen.post(reverse("kiosk:verify"), {"badge": "OBAMA-44", "photo": io.BytesIO(FACING)})
    assert paused.status_code == 429 and paused.json()["code"] == "kiosk_paused"
    assert 55 <= int(paused["Retry-After"]) <= 60
    assert paused.json()["error"] == f"Too many unknown badges here: wait {paused['Retry-After']} s, or ask reception."
    assert Verification.objects.count() == 4, "no check was made while paused"
    [pause] = AuditEvent.objects.filter(action=AuditEvent.Action.KIOSK_PAUSE)
    assert pause.actor == kiosk.user
    assert pause.details == {"kiosk": "front-door", "refused": ["unknown_badge"], "checks": 3, "seconds": 60}

    other = Kiosk.objects.create(name="back-door", user=UserFactory(username="kiosk-back", role=roles.KIOSK))
    elsewhere = Client()
    elsewhere.force_login(other.user)
    assert check(elsewhere, "OBAMA-44", FACING)["accepted"], "another door is not paused"

    oldest = Verification.objects.filter(outcome="unknown_badge").order_by("created_at").first()
    Verification.objects.filter(pk=oldest.pk).update(created_at=oldest.created_at - timedelta(seconds=61))
    assert check(screen, "OBAMA-44", FACING)["accepted"], "the pause ends when the oldest guess is a minute old"


def test_a_kiosk_that_does_not_explain_refusals_tells_no_badge_from_another(screen, kiosk, obama_and_biden, settings):
    settings.FACESITE_KIOSK_UNKNOWN_BADGES = 3
    kiosk.explain_refusals = False
    kiosk.save()
    refused = [check(screen, badge, FACING)["reason"] for badge in ("BIDEN-46", "NOBODY-1", "OBAMA-44")]
    assert refused[:2] == ["Not accepted: please ask reception"] * 2, "a known and an unknown badge alike"
    assert refused[2] == "", "the holder is accepted"
    assert check(screen, "OBAMA-44", photo("dog.jpg"))["reason"] == "No face seen", "how to try again is said"
    assert [v.outcome for v in Verification.objects.order_by("created_at")][:2] == ["no_match", "unknown_badge"]

    check(screen, "NOBODY-2", FACING)  # the third refusal about a badge, known or not: the kiosk pauses
    paused = screen.post(reverse("kiosk:verify"), {"badge": "OBAMA-44", "photo": io.BytesIO(FACING)})
    assert paused.status_code == 429 and paused.json()["error"].startswith("Too many refused checks here: wait")


@pytest.mark.django_db
def test_every_attempt_is_sent_to_endpoints_with_the_kiosk_named(screen, obama_and_biden, receiver):
    Endpoint.objects.create(name="Doors", url=receiver.url, secret="s" * 20, events=["verification.result"])
    check(screen, "OBAMA-44", FACING)
    delivery = Delivery.objects.get(event="verification.result")
    assert 'device="front-door"' in delivery.payload and 'outcome="match"' in delivery.payload
    schema().assertValid(etree.fromstring(delivery.payload.encode()))


@pytest.mark.django_db
def test_with_the_challenge_on_a_still_face_is_refused_even_when_it_matches(screen, kiosk, obama_and_biden):
    kiosk.liveness = True
    kiosk.save()
    refused = check(screen, "OBAMA-44", FACING, frames=[FACING] * 6)
    assert not refused["accepted"] and refused["reason"] == "Please turn your head as asked"
    accepted = check(screen, "OBAMA-44", FACING, frames=[FACING, LEFT, FACING, RIGHT])
    assert accepted["accepted"]
    assert list(Verification.objects.order_by("created_at").values_list("outcome", "liveness")) == [
        ("not_live", "failed"),
        ("match", "passed"),
    ]


@pytest.mark.django_db
def test_a_bad_photo_gets_a_clear_error_and_no_record(screen, obama_and_biden):
    response = screen.post(reverse("kiosk:verify"), {"badge": "OBAMA-44", "photo": io.BytesIO(FACING[:2000])})
    assert response.status_code == 400 and "truncated" in response.json()["error"].lower()
    assert not Verification.objects.exists()


# The Kiosk role ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_kiosk_account_checks_badges_at_its_page_only(kiosk):
    api = client_for(kiosk.user)
    assert api.get("/api/people/").status_code == 403
    assert api.get("/api/images/").status_code == 403
    # /api/verify/ names the badge's holder even when the face does not match: not for a device at a door.
    refused = api.post("/api/verify/", {"external_id": "OBAMA-44", "file": io.BytesIO(FACING)}, format="multipart")
    assert refused.status_code == 403 and not Verification.objects.exists()
    screen = Client()
    screen.force_login(kiosk.user)
    assert screen.get("/admin/").status_code == 302  # not staff: sent to the admin's sign-in
    assert screen.get(reverse("admin:recognition_person_changelist")).status_code == 302


@pytest.mark.django_db
def test_a_kiosk_account_taken_out_of_the_kiosk_role_checks_no_one(kiosk, screen):
    kiosk.user.groups.clear()
    response = screen.post(reverse("kiosk:verify"), {"badge": "OBAMA-44", "photo": io.BytesIO(FACING)})
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert not Verification.objects.exists()


@pytest.mark.django_db
def test_only_an_active_kiosk_account_opens_the_page(kiosk):
    other = Client()
    other.force_login(UserFactory(role=roles.OPERATOR))
    assert other.get(reverse("kiosk:page")).status_code == 302
    assert other.post(reverse("kiosk:verify"), {"badge": "X"}).status_code == 403

    screen = Client()
    assert (
        screen.post(
            reverse("kiosk:sign_in"), {"username": "kiosk-front", "password": "correct horse battery staple"}
        ).status_code
        == 302
    )
    page = screen.get(reverse("kiosk:page"))
    assert page.status_code == 200 and b'id="kiosk"' in page.content and b"Front door" in page.content
    assert b'<script src="/static/kiosk/kiosk.js">' in page.content and b"https://" not in page.content

    kiosk.active = False
    kiosk.save()
    assert screen.get(reverse("kiosk:page")).status_code == 302
    refused = Client().post(
        reverse("kiosk:sign_in"), {"username": "kiosk-front", "password": "correct horse battery staple"}
    )
    assert b"not an active kiosk" in refused.content


@pytest.mark.django_db
def test_an_administrator_adds_a_kiosk_and_sees_its_password_once():
    admin = Client()
    admin.force_login(UserFactory(username="dana", is_staff=True, role=roles.ADMINISTRATOR))
    response = admin.post(
        reverse("admin:kiosk_kiosk_add"),
        {"name": "side-door", "location": "Side door", "threshold": "85", "active": "on"},
        follow=True,
    )
    kiosk = Kiosk.objects.get(name="side-door")
    assert kiosk.user.username == "kiosk-side-door"
    assert list(kiosk.user.groups.all()) == [Group.objects.get(name=roles.KIOSK)]
    message = next(str(m) for m in response.context["messages"] if "shown only now" in str(m))
    password = message.split("with the password ")[1].split(" ")[0]
    assert Client().login(username="kiosk-side-door", password=password)
    created = AuditEvent.objects.get(action=AuditEvent.Action.KIOSK_CREATE)
    assert (created.actor_name, created.object_id, created.details) == (
        "dana",
        str(kiosk.pk),
        {"name": "side-door", "account": "kiosk-side-door"},
    )


@pytest.mark.django_db
def test_a_new_password_signs_the_kiosk_out_and_is_audited(kiosk):
    screen = Client()
    screen.force_login(kiosk.user)
    admin = Client()
    admin.force_login(UserFactory(username="dana", is_staff=True, role=roles.ADMINISTRATOR))
    response = admin.post(
        reverse("admin:kiosk_kiosk_changelist"), {"action": "new_password", "_selected_action": [kiosk.pk]},
        follow=True,
    )  # fmt: skip
    message = next(str(m) for m in response.context["messages"] if "shown only now" in str(m))
    password = message.split("with the password ")[1].split(" ")[0]
    assert screen.get(reverse("kiosk:page")).status_code == 302, "the old session is over"
    assert Client().login(username="kiosk-front", password=password)
    event = AuditEvent.objects.get(action=AuditEvent.Action.KIOSK_PASSWORD)
    assert (event.actor_name, event.object_id, event.details["account"]) == ("dana", str(kiosk.pk), "kiosk-front")
    assert password not in str(event.details)
