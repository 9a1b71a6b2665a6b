"""The door kiosk in a real browser: headless Chromium with a fake camera playing a photo of Obama.

Chromium comes from Debian's package (`make test` installs it where it can); when it cannot be had, these
tests are skipped with the reason. Screenshots go to var/screenshots/.
"""

from pathlib import Path

import pytest
from django.urls import reverse

from backoffice import roles
from kiosk.models import Kiosk
from recognition.models import Verification
from tests import images
from tests.browser import CHROMIUM, PASSWORD, chromium
from tests.factories import UserFactory
from tests.images import FIXTURES
from tests.workers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = ROOT / "var" / "screenshots"


@pytest.fixture
def camera_video(monkeypatch, tmp_path) -> Path:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed and could not be installed here (Debian package `chromium`).")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    video = tmp_path / "camera.y4m"
    video.write_bytes(images.y4m([(FIXTURES / "obama.jpg").read_bytes()]))
    return video


@pytest.fixture
def camera_browser(camera_video):
    with chromium(camera=camera_video) as browser:
        yield browser


def kiosk_signed_in(browser, live_server, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    kiosk = Kiosk.objects.create(name="front-door", location="Front door",
                                 user=UserFactory(username="kiosk-front", role=roles.KIOSK))  # fmt: skip
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(live_server.url + reverse("kiosk:page"))
    page.fill("#id_username", kiosk.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    return page


def test_badge_and_face_at_the_door(live_server, camera_browser, settings, obama_and_biden):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = kiosk_signed_in(camera_browser, live_server, settings)
    page.wait_for_selector("#kiosk[data-state=ready]", timeout=15_000)
    assert page.evaluate("document.getElementById('video').videoWidth") == 640
    page.screenshot(path=str(SCREENSHOTS / "kiosk-ready.png"))

    def present(badge: str) -> tuple[str, str]:
        page.wait_for_selector("#kiosk[data-state=ready]", timeout=15_000)
        page.locator("body").click(position={"x": 5, "y": 5})  # focus anywhere: a badge reader types into the page
        page.keyboard.type(badge)
        page.keyboard.press("Enter")
        page.wait_for_selector("#kiosk[data-state=accepted], #kiosk[data-state=rejected]", timeout=15_000)
        page.screenshot(path=str(SCREENSHOTS / f"kiosk-{badge.lower()}.png"))
        return page.inner_text("#result-word"), page.inner_text("#result-detail")

    assert present("OBAMA-44") == ("ACCEPTED", "Barack Obama")
    assert page.locator("#result-photo").get_attribute("src").startswith("data:image/jpeg")
    assert present("BIDEN-46") == ("REJECTED", "Face does not match")
    assert present("NOBODY-7") == ("REJECTED", "Unknown badge")
    outcomes = list(Verification.objects.order_by("created_at").values_list("external_id", "outcome", "device"))
    assert outcomes == [
        ("OBAMA-44", "match", "front-door"), ("BIDEN-46", "no_match", "front-door"),
        ("NOBODY-7", "unknown_badge", "front-door"),
    ]  # fmt: skip


def test_a_refused_camera_is_said_plainly(live_server, camera_video, settings):
    with chromium(camera=camera_video, camera_allowed=False) as browser:
        page = kiosk_signed_in(browser, live_server, settings)
        page.wait_for_selector("#kiosk[data-state=error]", timeout=15_000)
        assert "Camera access was denied" in page.inner_text("#message")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "kiosk-camera-denied.png"))
