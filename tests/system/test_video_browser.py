"""The video page in a real browser: the stored file plays from Facesite (with ranges), a click on a
sighting on the timeline seeks the player to it, and what was found in the frame shown is drawn over it.
Headless Chromium from Debian's package, skipped without it."""

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from backoffice import roles
from recognition.services.people import person_enroll
from tests.browser import CHROMIUM, chromium, sign_in
from tests.clips import analysed_here, video
from tests.factories import PersonFactory, UserFactory
from tests.images import FIXTURES
from videos.models import Video
from videos.services import AnalysisOptions, video_upload

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def biden(settings, local_engine, monkeypatch):
    """Joe Biden enrolled, for the browser and a live server speaking plain http (skipped without Chromium)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed and could not be installed here (Debian package `chromium`).")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    person_enroll(person=PersonFactory(name="Joe Biden"), data=(FIXTURES / "biden.jpg").read_bytes())


@contextmanager
def video_page(live_server, user, video: Video) -> Iterator[tuple[Page, list[str]]]:
    """The video's page, signed in as ``user``, its metadata loaded; with the page's Content Security Policy
    complaints."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        refused: list[str] = []
        page.on("console", lambda message: refused.append(message.text) if "Content Security" in message.text else 0)
        sign_in(page, live_server, user)
        page.goto(live_server.url + reverse("admin:videos_video_change", args=[video.pk]))
        page.wait_for_function("document.getElementById('video-player').readyState >= 1", timeout=15_000)
        yield page, refused


def test_a_click_on_a_sighting_seeks_the_player(live_server, biden):
    clip = video([(None, 2.0), ("biden.jpg", 2.0)], container="webm", codec="libvpx-vp9")
    done = analysed_here(video_upload(file=io.BytesIO(clip), filename="gate.webm"))
    assert done.sightings.get().first_at == 2.0
    operator = UserFactory(username="otto", is_staff=True, role=roles.OPERATOR)

    with video_page(live_server, operator, done) as (page, refused):
        assert page.evaluate("document.getElementById('video-player').duration") == pytest.approx(4.0, abs=0.2)
        timeline = page.locator("#timeline").bounding_box()
        sighting = page.locator("#timeline .sighting").bounding_box()
        offset = (sighting["x"] - timeline["x"]) / timeline["width"]
        assert offset == pytest.approx(0.5, abs=0.03), "the sighting sits where it happens: 2 s into 4"
        assert refused == []
        page.click("#timeline .sighting")
        page.wait_for_function("Math.abs(document.getElementById('video-player').currentTime - 2.0) < 0.5")
        assert "Joe Biden" in page.inner_text("#sightings")


def test_the_player_shows_the_faces_and_the_text_found_in_the_frame_it_shows(live_server, biden):
    clip = video([("scenetext01.jpg", 1.0), ("biden.jpg", 1.0)], container="webm", codec="libvpx-vp9")
    options = AnalysisOptions(features=("faces", "text"))
    done = analysed_here(video_upload(file=io.BytesIO(clip), filename="gate.webm", options=options))
    parking = done.labels.get(kind="text", name="PARKING", at=0.0, details__type="LINE").details["box"]
    reviewer = UserFactory(username="rita", is_staff=True, role=roles.REVIEWER)

    with video_page(live_server, reviewer, done) as (page, refused):

        def seek(seconds: float, selector: str) -> list[str]:
            page.evaluate(f"document.getElementById('video-player').currentTime = {seconds}")
            page.wait_for_selector(selector, timeout=10_000)
            return page.locator("#video-boxes .box").evaluate_all("boxes => boxes.map(b => b.dataset.caption)")

        shown = seek(0.25, "#video-boxes .box.text[data-caption='PARKING']")
        assert "PARKING" in shown and "Joe Biden" not in shown, shown
        player = page.locator("#video-player").bounding_box()
        drawn = page.locator("#video-boxes .box[data-caption='PARKING']").bounding_box()
        left, top, width, height = parking
        assert drawn["x"] == pytest.approx(player["x"] + left * player["width"], abs=2)
        assert drawn["y"] == pytest.approx(player["y"] + top * player["height"], abs=2)
        assert drawn["width"] == pytest.approx(width * player["width"], abs=2), "where the API says it is"
        assert drawn["height"] == pytest.approx(height * player["height"], abs=2)

        shown = seek(1.6, "#video-boxes .box.face[data-caption='Joe Biden']")
        assert shown == ["Joe Biden"], "the frame at 1.5 s: his face, the sign gone"
        assert refused == []
