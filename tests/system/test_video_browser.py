"""The video page in a real browser: the stored file plays from Facesite (with ranges) and a click on a
sighting on the timeline seeks the player to it. Headless Chromium from Debian's package, skipped without it."""

import io
from pathlib import Path

import pytest
from django.urls import reverse

from backoffice import roles
from recognition.services.people import person_enroll
from tests.browser import CHROMIUM, chromium, sign_in
from tests.clips import analysed_here, video
from tests.factories import PersonFactory, UserFactory
from tests.images import FIXTURES
from videos.services import video_upload

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_click_on_a_sighting_seeks_the_player(live_server, settings, local_engine, monkeypatch):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed and could not be installed here (Debian package `chromium`).")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    biden = PersonFactory(name="Joe Biden")
    person_enroll(person=biden, data=(FIXTURES / "biden.jpg").read_bytes())
    clip = video([(None, 2.0), ("biden.jpg", 2.0)], container="webm", codec="libvpx-vp9")
    done = analysed_here(video_upload(file=io.BytesIO(clip), filename="gate.webm"))
    assert done.sightings.get().first_at == 2.0
    operator = UserFactory(username="otto", is_staff=True, role=roles.OPERATOR)

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        refused = []
        page.on("console", lambda message: refused.append(message.text) if "Content Security" in message.text else 0)
        sign_in(page, live_server, operator)
        page.goto(live_server.url + reverse("admin:videos_video_change", args=[done.pk]))
        page.wait_for_function("document.getElementById('video-player').readyState >= 1", timeout=15_000)
        assert page.evaluate("document.getElementById('video-player').duration") == pytest.approx(4.0, abs=0.2)
        timeline = page.locator("#timeline").bounding_box()
        sighting = page.locator("#timeline .sighting").bounding_box()
        offset = (sighting["x"] - timeline["x"]) / timeline["width"]
        assert offset == pytest.approx(0.5, abs=0.03), "the sighting sits where it happens: 2 s into 4"
        assert refused == []
        page.click("#timeline .sighting")
        page.wait_for_function("Math.abs(document.getElementById('video-player').currentTime - 2.0) < 0.5")
        assert "Joe Biden" in page.inner_text("#sightings")
