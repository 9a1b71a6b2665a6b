"""The Django admin back office: roles, review decisions, erasure, audit, and fast change lists."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice import roles
from recognition.models import AuditEvent, Face, Image, Person
from recognition.services.analysis import image_analyse, image_reanalyse
from recognition.services.attribute_words import attributes_in_words
from recognition.services.erasure import person_erase
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from recognition.services.review import face_review_confirm, face_review_reject
from tests import images
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def admin_client(role: str | None, *, superuser: bool = False) -> Client:
    user = UserFactory(is_staff=True, is_superuser=superuser, role=role)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def analysed(seed: int = 1, size=(160, 120)) -> Image:
    return image_analyse(image_id=image_ingest(data=images.jpeg(size, seed=seed)).pk)


@pytest.fixture
def face_to_review(settings):
    """A face whose best match, Ada, fell below the threshold: it waits in the review queue."""
    ada = PersonFactory(name="Ada")
    photo = images.jpeg((160, 120), seed=5)
    person_enroll(person=ada, data=photo)
    settings.FACESITE_MATCH_THRESHOLD = 100.5
    image = image_analyse(image_id=image_ingest(data=photo).pk)
    face = image.faces.get(is_reference=False)
    assert face.review_state == Face.Review.NEEDS_REVIEW and face.candidate == ada
    return face


PAGES = {
    "index": lambda ids: reverse("admin:index"),
    "images": lambda ids: reverse("admin:recognition_image_changelist"),
    "image": lambda ids: reverse("admin:recognition_image_change", args=[ids["image"]]),
    "review": lambda ids: reverse("admin:recognition_faceforreview_changelist"),
    "review_face": lambda ids: reverse("admin:recognition_faceforreview_change", args=[ids["face"]]),
    "people": lambda ids: reverse("admin:recognition_person_changelist"),
    "person": lambda ids: reverse("admin:recognition_person_change", args=[ids["person"]]),
    "deliveries": lambda ids: reverse("admin:integrations_delivery_changelist"),
    "endpoints": lambda ids: reverse("admin:integrations_endpoint_changelist"),
    "audit": lambda ids: reverse("admin:recognition_auditevent_changelist"),
    "verifications": lambda ids: reverse("admin:recognition_verification_changelist"),
}
EXPECTED = {
    roles.REVIEWER: {"endpoints": 403, "audit": 403},
    roles.OPERATOR: {"audit": 403},
    roles.ADMINISTRATOR: {},
}


@pytest.mark.parametrize("role", [roles.REVIEWER, roles.OPERATOR, roles.ADMINISTRATOR])
def test_admin_pages_render_for_each_role_with_the_right_permissions(role, face_to_review):
    client = admin_client(role)
    ids = {"image": face_to_review.image_id, "face": face_to_review.pk, "person": face_to_review.candidate_id}
    for page, url in PAGES.items():
        expected = EXPECTED[role].get(page, 200)
        assert client.get(url(ids)).status_code == expected, (role, page)


def test_staff_without_a_role_sees_no_biometric_data(face_to_review):
    client = admin_client(None)
    assert client.get(PAGES["images"]({})).status_code == 403
    assert client.get(PAGES["people"]({})).status_code == 403
    crop = reverse("admin:recognition_image_face_crop", args=[face_to_review.pk])
    assert client.get(crop).status_code == 403


def test_image_page_draws_the_face_boxes_over_the_image(face_to_review, media_root):
    client = admin_client(roles.REVIEWER)
    page = client.get(reverse("admin:recognition_image_change", args=[face_to_review.image_id])).content.decode()
    assert page.count('class="box face"') == face_to_review.image.faces.count()
    assert "<svg" in page and "facesite-preview" in page
    thumb = client.get(reverse("admin:recognition_image_thumbnail", args=[face_to_review.image_id, 800]))
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    assert list(media_root.rglob(f"{face_to_review.image_id}-800.jpg")), "made once, then served from storage"
    crop = client.get(reverse("admin:recognition_image_face_crop", args=[face_to_review.pk]))
    assert crop.status_code == 200 and crop.content[:2] == b"\xff\xd8"
    assert AuditEvent.objects.filter(action="image.view", object_id=str(face_to_review.image_id)).exists()


def test_the_image_page_says_what_was_estimated_about_each_face_in_words(obama_and_biden):
    from tests.images import FIXTURES

    image = image_analyse(image_id=image_ingest(data=(FIXTURES / "obama.jpg").read_bytes()).pk)
    words = attributes_in_words(image.faces.get(is_reference=False).attributes)
    page = admin_client(roles.REVIEWER).get(reverse("admin:recognition_image_change", args=[image.pk]))
    assert f"age {words['age']}; {words['gender']}; {words['expression']}" in page.content.decode()


def test_the_image_page_names_the_image_once_and_lists_results_without_repeating_them(face_to_review):
    face_to_review.image.original_filename = "gate.jpg"
    face_to_review.image.save(update_fields=["original_filename"])
    page = admin_client(roles.ADMINISTRATOR).get(
        reverse("admin:recognition_image_change", args=[face_to_review.image_id])
    )
    html = page.content.decode()
    assert re.search(r"<title>gate\.jpg \| Image \| Facesite</title>", html)
    assert "<h1>Image</h1>" in html and html.count("<h2>gate.jpg</h2>") == 1
    assert 'class="module facesite-results"' in html  # results' rows drop the name repeated above each
    assert 'class="button deletelink"' in html


def test_the_review_queue_shows_its_keys_under_the_title_not_in_it(face_to_review):
    html = admin_client(roles.REVIEWER).get(reverse("admin:recognition_faceforreview_changelist")).content.decode()
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert title == "Faces to review | Facesite"
    assert '<p class="keyboard-help">Keys: <kbd>j</kbd>' in html


def test_confirming_from_the_queue_assigns_the_candidate_and_is_audited(face_to_review):
    client = admin_client(roles.REVIEWER)
    response = client.post(
        reverse("admin:recognition_faceforreview_changelist"),
        {"action": "confirm", "_selected_action": [str(face_to_review.pk)]},
        follow=True,
    )
    assert "1 face(s) confirmed." in response.content.decode()
    face_to_review.refresh_from_db()
    assert face_to_review.person == face_to_review.candidate
    assert face_to_review.review_state == Face.Review.CONFIRMED
    assert face_to_review.reviewed_by == client.user and face_to_review.reviewed_at
    event = AuditEvent.objects.get(action="face.review.confirm")
    assert event.actor == client.user and event.object_id == str(face_to_review.pk)


def test_confirm_and_enrol_adds_a_reference_face(face_to_review):
    client = admin_client(roles.OPERATOR)
    client.post(
        reverse("admin:recognition_faceforreview_changelist"),
        {"action": "confirm_and_enrol", "_selected_action": [str(face_to_review.pk)]},
    )
    assert Face.objects.filter(person=face_to_review.candidate, is_reference=True).count() == 2
    event = AuditEvent.objects.get(action="person.enrol", actor=client.user)
    assert event.details["via"] == "admin"


def test_rejecting_clears_the_match_and_is_audited(face_to_review):
    client = admin_client(roles.REVIEWER)
    client.post(
        reverse("admin:recognition_faceforreview_changelist"),
        {"action": "reject", "_selected_action": [str(face_to_review.pk)]},
    )
    face_to_review.refresh_from_db()
    assert face_to_review.person is None and face_to_review.review_state == Face.Review.REJECTED
    assert AuditEvent.objects.filter(action="face.review.reject", actor=client.user).exists()


def test_reassigning_to_someone_else_from_the_change_form(face_to_review):
    grace = PersonFactory(name="Grace")
    client = admin_client(roles.REVIEWER)
    url = reverse("admin:recognition_faceforreview_change", args=[face_to_review.pk])
    response = client.post(url, {"person": str(grace.pk)})
    assert response.status_code == 302
    face_to_review.refresh_from_db()
    assert face_to_review.person == grace and face_to_review.review_state == Face.Review.CONFIRMED
    assert AuditEvent.objects.filter(action="face.review.reassign", details__person=str(grace.pk)).exists()


def test_reanalysis_keeps_a_confirmed_decision(face_to_review):
    grace = PersonFactory(name="Grace")
    face_review_confirm(face=face_to_review, reviewer=None, person=grace)
    image = face_to_review.image
    assert image_reanalyse(image=image)
    image_analyse(image_id=image.pk)
    face = image.faces.get(is_reference=False)
    assert face.pk != face_to_review.pk, "a new analysis made a new face row"
    assert face.person == grace and face.review_state == Face.Review.CONFIRMED


def test_reanalysis_does_not_reassign_a_rejected_person(face_to_review, settings):
    face_review_reject(face=face_to_review, reviewer=None)
    settings.FACESITE_MATCH_THRESHOLD = 80  # now the engine would match the candidate outright
    image = face_to_review.image
    image_reanalyse(image=image)
    image_analyse(image_id=image.pk)
    face = image.faces.get(is_reference=False)
    assert face.person is None and face.review_state == Face.Review.REJECTED


def test_erasure_confirmation_says_what_goes_then_removes_every_trace(django_capture_on_commit_callbacks):
    ada = PersonFactory(name="Ada Example")
    photo = images.jpeg((160, 120), seed=9)
    person_enroll(person=ada, data=photo)
    sighting = analysed(seed=9)
    assert sighting.faces.get().person == ada
    client = admin_client(roles.ADMINISTRATOR)
    url = reverse("admin:recognition_person_delete", args=[ada.pk])
    page = client.get(url).content.decode()
    assert "1 reference face(s) and their embeddings" in page and "1 face(s) matched to them" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Person.objects.exists()
    assert not Face.objects.filter(is_reference=True).exists() and not sighting.faces.exists()
    assert AuditEvent.objects.get(action="person.erase").actor == client.user


def test_operators_cannot_erase_people():
    ada = PersonFactory()
    client = admin_client(roles.OPERATOR)
    assert client.post(reverse("admin:recognition_person_delete", args=[ada.pk]), {"post": "yes"}).status_code == 403
    assert Person.objects.filter(pk=ada.pk).exists()


@pytest.mark.django_db(transaction=True)  # enrolment runs once the admin's transaction has committed
def test_enrolling_a_reference_photo_from_the_admin():
    client = admin_client(roles.OPERATOR)
    photo = images.encode(images.Image.open(__import__("io").BytesIO(images.jpeg((200, 150), seed=3))), "JPEG")
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse("admin:recognition_person_add"),
        {"name": "New Starter", "external_id": "B-900", "notes": "", "enrol_photo": SimpleUploadedFile("p.jpg", photo)},
        follow=True,
    )
    assert "The reference photo of New Starter (B-900) was enrolled." in response.content.decode()
    person = Person.objects.get(external_id="B-900")
    assert person.faces.filter(is_reference=True).count() == 1
    assert person.faces.get().image.original_filename == "p.jpg", "the file keeps its name"
    assert AuditEvent.objects.filter(action="person.enrol", details__via="admin", actor=client.user).exists()


@pytest.mark.django_db(transaction=True)
def test_enrolment_refusal_is_shown_and_the_person_kept():
    client = admin_client(roles.OPERATOR)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse("admin:recognition_person_add"),
        {"name": "Tiny", "enrol_photo": SimpleUploadedFile("t.png", images.solid((1, 2, 3), size=(16, 16)))},
        follow=True,
    )
    page = response.content.decode()
    assert "Tiny was not enrolled: No face was found in the photo." in page
    assert "successfully" not in page, "one clear message, not a success beside the failure"
    person = Person.objects.get(name="Tiny")
    assert response.redirect_chain[-1][0].endswith(f"/{person.pk}/change/"), "back to the person, to try again"
    refused = AuditEvent.objects.get(action="person.enrol.refused")
    assert refused.object_id == str(person.pk) and refused.details["code"] == "no_face"
    assert refused.details["filename"] == "t.png"

    # A photo alone, for someone who exists, is an enrolment attempt, not a change to the person.
    client.post(
        reverse("admin:recognition_person_change", args=[person.pk]),
        {"name": "Tiny", "enrol_photo": SimpleUploadedFile("t2.png", images.solid((1, 2, 3), size=(16, 16)))},
    )
    assert not AuditEvent.objects.filter(action="person.update", object_id=str(person.pk)).exists()
    assert AuditEvent.objects.filter(action="person.enrol.refused").count() == 2


def test_audit_trail_is_read_only_even_for_superusers(face_to_review):
    face_review_reject(face=face_to_review, reviewer=None)
    event = AuditEvent.objects.first()
    client = admin_client(None, superuser=True)
    assert client.get(reverse("admin:recognition_auditevent_changelist")).status_code == 200
    assert (
        client.post(reverse("admin:recognition_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    )
    assert (
        client.post(reverse("admin:recognition_auditevent_change", args=[event.pk]), {"action": "x"}).status_code == 403
    )
    with pytest.raises(PermissionError):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_dashboard_shows_what_needs_attention(face_to_review):
    page = admin_client(roles.ADMINISTRATOR).get(reverse("admin:index")).content.decode()
    assert re.search(r'class="review-count">1<', page)
    assert "Workers and tasks in Flower" in page and "2</strong> done" in page, "the sighting and the enrolment photo"


def test_the_dashboard_does_not_promise_tasks_flower_cannot_show(db, settings):
    settings.FACESITE_TASK_EVENTS = False
    page = admin_client(roles.ADMINISTRATOR).get(reverse("admin:index")).content.decode()
    assert "Workers in Flower" in page and "tasks in Flower" not in page


def test_reanalyse_action_queues_images(django_capture_on_commit_callbacks):
    image = analysed(seed=2)
    client = admin_client(roles.ADMINISTRATOR)
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(
            reverse("admin:recognition_image_changelist"), {"action": "reanalyse", "_selected_action": [image.pk]}
        )
    image.refresh_from_db()
    assert image.status == Image.Status.PENDING and len(callbacks) == 1


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_image_changelist_queries_do_not_grow_with_rows():
    client = admin_client(roles.ADMINISTRATOR)
    url = reverse("admin:recognition_image_changelist")
    for seed in range(3):
        analysed(seed=seed)
    few = count_queries(client, url)
    for seed in range(3, 15):
        analysed(seed=seed)
    assert count_queries(client, url) == few


def test_the_image_list_says_whose_reference_photo_an_image_is(face_to_review):
    page = admin_client(roles.ADMINISTRATOR).get(reverse("admin:recognition_image_changelist")).content.decode()
    enrolment = Image.objects.get(source=Image.Source.ENROLMENT)
    link = reverse("admin:recognition_image_change", args=[enrolment.pk])
    assert page.count(f'href="{link}"') == 2, "the thumbnail and the name open the image"
    assert "Ada (reference)" in page


def test_people_changelist_queries_do_not_grow_with_rows():
    client = admin_client(roles.ADMINISTRATOR)
    url = reverse("admin:recognition_person_changelist")
    for seed in range(2):
        person_enroll(person=PersonFactory(), data=images.jpeg((160, 120), seed=seed))
    few = count_queries(client, url)
    for seed in range(2, 12):
        person_enroll(person=PersonFactory(), data=images.jpeg((160, 120), seed=seed))
    assert count_queries(client, url) == few


def test_review_queue_queries_do_not_grow_with_rows(settings):
    settings.FACESITE_MATCH_THRESHOLD = 100.5
    client = admin_client(roles.REVIEWER)
    url = reverse("admin:recognition_faceforreview_changelist")
    photo = images.jpeg((160, 120), seed=40)
    person_enroll(person=PersonFactory(), data=photo)
    image_ingest(data=photo)
    for image in Image.objects.filter(status=Image.Status.PENDING):
        image_analyse(image_id=image.pk)
    few = count_queries(client, url)
    for _ in range(8):
        image = image_ingest(data=photo)
        image_analyse(image_id=image.pk)
    assert Face.objects.filter(review_state=Face.Review.NEEDS_REVIEW).count() == 9
    assert count_queries(client, url) == few


def test_sending_faces_to_review_from_the_image_list():
    image = analysed(seed=21)
    client = admin_client(roles.REVIEWER)
    response = client.post(
        reverse("admin:recognition_image_changelist"),
        {"action": "send_to_review", "_selected_action": [image.pk]},
        follow=True,
    )
    assert "1 face(s) sent to the review queue." in response.content.decode()
    queue = client.get(reverse("admin:recognition_faceforreview_changelist")).content.decode()
    assert str(image.faces.get().pk) in queue
    assert AuditEvent.objects.filter(action="face.flag", actor=client.user).exists()


def test_reviewers_cannot_rerun_analysis():
    image = analysed(seed=22)
    reviewer = admin_client(roles.REVIEWER)
    reviewer.post(
        reverse("admin:recognition_image_changelist"), {"action": "reanalyse", "_selected_action": [image.pk]}
    )
    image.refresh_from_db()
    assert image.status == Image.Status.DONE, "re-analysis is not a reviewer's action"


def test_erasing_someone_enrolled_from_a_sighting_keeps_that_photo_but_no_embedding(
    face_to_review, django_capture_on_commit_callbacks
):
    face_review_confirm(face=face_to_review, reviewer=None, add_reference=True)
    sighting = face_to_review.image
    assert not sighting.faces.filter(is_reference=True).exists(), "the reference has a photo of its own: the crop"
    ada = face_to_review.person
    with django_capture_on_commit_callbacks(execute=True):
        report = person_erase(person=ada)
    assert report.reference_faces == 2 and report.images == 2, "both reference photos go, the crop included"
    assert Image.objects.filter(pk=sighting.pk).exists(), "the sighting is someone's photo, not a reference photo"
    assert sighting.labels.exists()
    assert not Face.objects.filter(is_reference=True).exists(), "no ownerless reference embedding is left behind"
    assert not Face.objects.filter(pk=face_to_review.pk).exists()


def test_an_image_analysed_for_labels_alone_shows_where_its_people_are(settings, media_root):
    settings.RECOGNITION_ENGINE = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}
    image = image_ingest(data=(images.FIXTURES / "obama.jpg").read_bytes(), features=["labels"])
    image_analyse(image_id=image.pk)
    page = admin_client(roles.REVIEWER).get(reverse("admin:recognition_image_change", args=[image.pk])).content
    drawn = re.findall(r'<g class="box label">\s*<rect [^>]*/>\s*<text [^>]*>([^<]*)</text>', page.decode())
    assert drawn == ["Person"], "no face was kept, so the Person label's box is drawn"


def _face_box_colour(client, image_id) -> tuple[str, str]:
    page = client.get(reverse("admin:recognition_image_change", args=[image_id])).content.decode()
    box = re.search(
        r'<g class="box face">\s*<rect [^>]*stroke="(#[0-9a-f]{6})"[^>]*/>\s*<text [^>]*>([^<]*)</text>', page
    )
    assert box, "the preview draws the face"
    return box.group(1), box.group(2)


def test_preview_colours_faces_by_their_review_state(face_to_review):
    client = admin_client(roles.REVIEWER)
    similarity = f"{face_to_review.similarity:.0f}?"
    assert _face_box_colour(client, face_to_review.image_id) == ("#f9a825", similarity)  # amber: needs review
    face_review_reject(face=face_to_review, reviewer=client.user)
    assert _face_box_colour(client, face_to_review.image_id) == ("#e53935", similarity)  # red: not identified
    face_review_confirm(face=face_to_review, reviewer=client.user, person=PersonFactory(name="Grace <Hopper>"))
    assert _face_box_colour(client, face_to_review.image_id) == ("#2e7d32", "Grace &lt;Hopper&gt;")  # green, escaped


def test_people_enrolled_without_consent_are_one_filter_away():
    asked = PersonFactory(name="Asked Example", consent_given_at=timezone.now())
    person_enroll(person=asked, data=images.jpeg((200, 150), seed=63))
    unasked = PersonFactory(name="Unasked Example", consent_given_at=None)
    person_enroll(person=unasked, data=images.jpeg((200, 150), seed=64))
    PersonFactory(name="Pending Example", consent_given_at=None)
    admin = admin_client(roles.ADMINISTRATOR)
    changelist = reverse("admin:recognition_person_changelist")

    def listed(query: str) -> set[str]:
        page = admin.get(changelist + query).content.decode()
        return {name for name in ("Asked", "Unasked", "Pending") if f"{name} Example</a>" in page}

    assert listed("") == {"Asked", "Unasked", "Pending"}, "names are links to their person"
    assert listed("?enrolled=yes&consent=none") == {"Unasked"}
    assert listed("?enrolled=no") == {"Pending"}
    assert listed("?consent=recorded") == {"Asked"}


def test_a_single_reference_face_is_removed_from_the_gallery_and_missing_consent_is_flagged():
    person = PersonFactory(name="Grace Example", consent_given_at=None)
    keep = person_enroll(person=person, data=images.jpeg((200, 150), seed=61))
    drop = person_enroll(person=person, data=images.jpeg((200, 150), seed=62))
    admin = admin_client(roles.ADMINISTRATOR)
    page = admin.get(reverse("admin:recognition_person_change", args=[person.pk])).content.decode()
    assert "No consent to biometric processing is recorded" in page
    assert page.count("Remove</button>") == 2
    remove = reverse("admin:recognition_person_remove_face", args=[drop.pk])
    assert admin_client(roles.OPERATOR).post(remove).status_code == 403
    assert admin.get(remove).status_code == 403, "removing takes a POST"
    assert admin.post(remove).status_code == 302
    assert list(Face.objects.references().filter(person=person)) == [keep]
    assert AuditEvent.objects.filter(action="face.delete", object_id=str(drop.pk)).exists()


def test_the_upload_page_says_which_files_it_takes_from_the_settings_in_force(settings):
    settings.FACESITE_MAX_UPLOAD_BYTES, settings.FACESITE_MAX_IMAGE_PIXELS = 2 * 1024 * 1024, 12_000_000
    page = admin_client(roles.OPERATOR).get(reverse("admin:recognition_image_add")).content.decode()
    assert "JPEG, PNG, WEBP, GIF, BMP, TIFF, each at most 2.0\xa0MB and 12 Mpx." in page


@pytest.mark.parametrize(
    ("route", "heading"),
    [("admin:recognition_image_changelist", "Images"), ("admin:recognition_person_changelist", "People"),
     ("admin:integrations_delivery_changelist", "Deliveries"), ("admin:videos_video_changelist", "Videos"),
     ("admin:recognition_auditevent_changelist", "Audit trail"),
     ("admin:recognition_faceforreview_changelist", "Faces to review")],
)  # fmt: skip
def test_lists_are_titled_by_what_they_list_and_lists_with_titles_of_their_own_keep_them(route, heading):
    page = admin_client(roles.ADMINISTRATOR).get(reverse(route)).content.decode()
    assert f"<h1>{heading}</h1>" in page and f"<title>{heading} | Facesite</title>" in page
    assert "Select " not in page.split("<h1>")[1].split("</h1>")[0]


def test_a_pop_up_that_picks_an_object_still_says_so():
    page = admin_client(roles.ADMINISTRATOR).get(reverse("admin:recognition_image_changelist") + "?_popup=1")
    assert "<h1>Select image</h1>" in page.content.decode()
