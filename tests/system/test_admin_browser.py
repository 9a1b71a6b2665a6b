"""A reviewer works in the admin in a real browser: headless Chromium driven by Playwright.

Chromium comes from Debian's package (`make test` installs it where it can); when it
cannot be had, this one test is skipped with the reason. Screenshots are written to
var/screenshots/ for a person to look at.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from backoffice import roles
from recognition.models import Face
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from tests import images
from tests.factories import PersonFactory, UserFactory
from tests.workers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "var" / "screenshots"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def browser(monkeypatch):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed and could not be installed here (Debian package `chromium`).")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"],
        )  # fmt: skip
        yield browser
        browser.close()


def test_reviewer_sees_the_boxes_and_confirms_a_match(live_server, browser, settings):
    ada = PersonFactory(name="Ada Lovelace")
    photo = images.jpeg((480, 360), seed=12)
    person_enroll(person=ada, data=photo)
    settings.FACESITE_MATCH_THRESHOLD = 100.5  # so the match waits for a person to decide
    # The live server speaks plain http, as `make run` does: cookies cannot require TLS there.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    image = image_analyse(image_id=image_ingest(data=photo, filename="lobby.jpg").pk)
    face = image.faces.get(is_reference=False)
    assert face.review_state == Face.Review.NEEDS_REVIEW
    reviewer = UserFactory(username="rita", is_staff=True, role=roles.REVIEWER)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", reviewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#facesite-dashboard")
    assert page.locator("#facesite-dashboard .review-count").inner_text() == "1"

    with page.expect_response(lambda r: "/thumbnail/800/" in r.url) as thumbnail:
        page.goto(live_server.url + reverse("admin:recognition_image_change", args=[image.pk]))
    assert thumbnail.value.status == 200
    assert page.locator("svg.facesite-preview g.box.face").count() == 1
    assert page.locator("svg.facesite-preview g.box.face text").text_content() == "100?"
    page.screenshot(path=str(SCREENSHOTS / "image-with-boxes.png"), full_page=True)

    page.goto(live_server.url + reverse("admin:recognition_faceforreview_changelist"))
    assert page.locator("#result_list tbody tr").count() == 1
    assert "Ada Lovelace" in page.locator("#result_list tbody tr").inner_text()
    page.check("#result_list tbody input.action-select")
    page.select_option("select[name=action]", "confirm")
    page.click("button[name=index]")
    page.wait_for_selector("ul.messagelist")
    assert "1 face(s) confirmed." in page.locator("ul.messagelist").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "review-queue-confirmed.png"), full_page=True)

    face.refresh_from_db()
    assert face.person == ada and face.review_state == Face.Review.CONFIRMED and face.reviewed_by == reviewer
    page.goto(live_server.url + reverse("admin:recognition_image_change", args=[image.pk]))
    assert page.locator("svg.facesite-preview g.box.face text").text_content() == "Ada Lovelace"
    page.screenshot(path=str(SCREENSHOTS / "image-after-review.png"), full_page=True)
    assert os.path.getsize(SCREENSHOTS / "image-after-review.png") > 10_000
