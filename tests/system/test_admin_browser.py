"""A reviewer works in the admin in a real browser: headless Chromium driven by Playwright.

Chromium comes from Debian's package (`make test` installs it where it can); when it
cannot be had, this one test is skipped with the reason. Screenshots are written to
var/screenshots/ for a person to look at.
"""

import os

import pytest
from django.urls import reverse

from backoffice import roles
from recognition.models import Face, Image
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from tests import images
from tests.browser import sign_in
from tests.factories import PersonFactory, UserFactory
from tests.helpers import status_of, wait_for
from tests.workers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = ROOT / "var" / "screenshots"


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_reviewer_reads_the_boxes_and_works_the_queue_with_one_click(live_server, browser, settings):
    ada, bob = PersonFactory(name="Ada Lovelace"), PersonFactory(name="Bob Example")
    photos = {name: images.jpeg((640, 480), seed=seed) for name, seed in (("ada", 12), ("bob", 13))}
    person_enroll(person=ada, data=photos["ada"])
    person_enroll(person=bob, data=photos["bob"])
    settings.FACESITE_MATCH_THRESHOLD = 100.5  # so the matches wait for a person to decide
    # The live server speaks plain http, as `make run` does: cookies cannot require TLS there.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    lobby = image_analyse(image_id=image_ingest(data=photos["ada"], filename="lobby.jpg").pk)
    image_analyse(image_id=image_ingest(data=photos["bob"], filename="door.jpg").pk)
    assert Face.objects.filter(review_state=Face.Review.NEEDS_REVIEW).count() == 2
    reviewer = UserFactory(username="rita", is_staff=True, role=roles.REVIEWER)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page = browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in(page, live_server, reviewer)
    assert page.title().endswith("Facesite") and "Facesite" in page.locator("#site-name").inner_text()
    assert page.locator("#facesite-dashboard .review-count").inner_text() == "2"

    with page.expect_response(lambda r: "/thumbnail/800/" in r.url) as thumbnail:
        page.goto(live_server.url + reverse("admin:recognition_image_change", args=[lobby.pk]))
    assert thumbnail.value.status == 200
    assert page.locator("h1").first.inner_text() == "Image" and page.title().startswith("lobby.jpg | Image")
    preview = page.locator("svg.facesite-preview")
    assert preview.bounding_box()["width"] >= 600, "the viewer fills its column"
    label = page.locator("svg.facesite-preview g.box.face text")
    assert label.text_content() == "100?"
    assert label.bounding_box()["height"] >= 14, "names on the boxes read at a normal text size"
    assert page.locator("input[type=submit][name=_save]").count() == 0, "a read-only record offers no Save"
    page.uncheck("#layer-faces")
    assert not label.is_visible()
    page.check("#layer-faces")
    page.screenshot(path=str(SCREENSHOTS / "image-with-boxes.png"), full_page=True)

    page.goto(live_server.url + reverse("admin:recognition_faceforreview_changelist"))
    assert "faces to review" in page.title().lower() or "face to review" in page.locator("h1").inner_text().lower()
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2 and no_horizontal_overflow(page)
    first = rows.first.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "review-queue.png"), full_page=True)
    rows.first.locator("[data-review=confirm]").click()  # one click
    page.wait_for_selector("ul.messagelist")
    assert "1 face(s) confirmed." in page.locator("ul.messagelist").inner_text()
    assert rows.count() == 1 and rows.first.inner_text() != first, "the next face is up"
    assert "review-current" in (rows.first.get_attribute("class") or "")
    page.keyboard.press("r")  # and the keyboard does the rest
    page.wait_for_selector("text=1 face(s) rejected.")
    assert Face.objects.filter(review_state=Face.Review.NEEDS_REVIEW).count() == 0
    confirmed = Face.objects.get(review_state=Face.Review.CONFIRMED)
    assert confirmed.reviewed_by == reviewer and confirmed.person is not None

    for name in ("recognition_image_changelist", "recognition_verification_changelist"):
        page.goto(live_server.url + reverse(f"admin:{name}"))
        assert no_horizontal_overflow(page), name
    page.screenshot(path=str(SCREENSHOTS / "images-list.png"), full_page=True)
    assert os.path.getsize(SCREENSHOTS / "image-with-boxes.png") > 10_000


def test_an_operator_uploads_two_files_from_the_admin(live_server, browser, settings, celery_worker, tmp_path):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    operator = UserFactory(username="otto", is_staff=True, role=roles.OPERATOR)
    files = []
    for seed in (21, 22):
        path = tmp_path / f"upload-{seed}.jpg"
        path.write_bytes(images.jpeg((320, 240), seed=seed))
        files.append(str(path))

    page = browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in(page, live_server, operator)
    page.goto(live_server.url + reverse("admin:recognition_image_add"))
    page.set_input_files("input[type=file]", files)
    page.check("input[name=features][value=text]")
    page.click("input[type=submit][value=Upload]")
    page.wait_for_selector("ul.messagelist")
    assert "2 image(s) uploaded" in page.locator("ul.messagelist").inner_text()
    uploaded = Image.objects.filter(original_filename__startswith="upload-")
    assert uploaded.count() == 2 and all("text" in image.features for image in uploaded)
    wait_for(lambda: all(status_of(i.pk) == Image.Status.DONE for i in uploaded), timeout=60)
    page.reload()
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(SCREENSHOTS / "uploaded.png"), full_page=True)


def test_the_main_lists_fit_a_1366_pixel_screen(live_server, browser, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    person = PersonFactory(name="Ada Lovelace")
    photo = images.jpeg((320, 240), seed=31)
    person_enroll(person=person, data=photo)
    image_analyse(image_id=image_ingest(data=photo, filename="a-rather-long-file-name-from-a-camera-0001.jpg").pk)
    admin = UserFactory(username="ann", is_staff=True, role=roles.ADMINISTRATOR)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in(page, live_server, admin)
    assert no_horizontal_overflow(page)
    for name in ("recognition_person", "recognition_auditevent", "integrations_delivery", "recognition_image"):
        page.goto(live_server.url + reverse(f"admin:{name}_changelist"))
        assert no_horizontal_overflow(page), name
    page.goto(live_server.url + reverse("admin:recognition_auditevent_changelist"))
    page.screenshot(path=str(SCREENSHOTS / "audit-trail.png"), full_page=True)


def test_the_pages_break_no_rule_of_the_content_security_policy(live_server, browser, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    person = PersonFactory(name="Ada Lovelace")
    photo = images.jpeg((320, 240), seed=41)
    person_enroll(person=person, data=photo)
    seen = image_analyse(image_id=image_ingest(data=photo, filename="door.jpg").pk)
    admin = UserFactory(username="csp-admin", is_staff=True, is_superuser=True)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else 0)
    page.on("pageerror", lambda error: refused.append(str(error)))
    sign_in(page, live_server, admin)
    pages = [reverse("admin:index"), reverse("admin:recognition_image_change", args=[seen.pk]),
             reverse("admin:recognition_person_change", args=[person.pk]), reverse("admin:integrations_endpoint_add"),
             reverse("admin:recognition_collection_calibration"), reverse("admin:two_step_settings"),
             reverse("admin:two_step_setup")]  # fmt: skip
    lists = (
        "recognition_image",
        "recognition_person",
        "recognition_faceforreview",
        "recognition_auditevent",
        "recognition_verification",
        "integrations_delivery",
        "integrations_endpoint",
        "auth_user",
        "backoffice_apitoken",
        "rekognition_api_accesskey",
        "rekognition_api_videojob",
        "videos_video",
        "videos_camera",
        "kiosk_kiosk",
    )
    pages += [reverse(f"admin:{model}_changelist") for model in lists]
    for path in pages:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
    for path in ("/api/images/", "/api/people/"):  # DRF's browsable API, its forms' style attributes
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
    page.goto(live_server.url + "/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)  # drawn by scripts the policy lets run
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px", "its page styles, from the site"
    assert refused == []
