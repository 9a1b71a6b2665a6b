"""Debian's Chromium, headless, driven by Playwright: for the browser tests and the kiosk benchmark."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"  # every test user's (tests.factories.UserFactory)
# As root in a sandbox with a closed network: no sandbox of its own, and no calls home.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update"]  # fmt: skip


def launch(playwright: Any, *, camera: Path | None = None, camera_allowed: bool = True) -> Any:
    """Chromium; with ``camera`` (a .y4m or .mjpeg file), a fake camera that plays it, allowed without asking
    (or, with ``camera_allowed`` false, refused as a person who says no would)."""
    args = list(ARGS)
    if camera is not None:
        args += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera}",
                 "--use-fake-ui-for-media-stream" if camera_allowed else "--deny-permission-prompts"]  # fmt: skip
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args)


@contextmanager
def chromium(*, camera: Path | None = None, camera_allowed: bool = True) -> Iterator[Any]:
    """Chromium for one test. Playwright's sync API runs the test inside its own greenlet, where Django keeps
    other connections than the test's fixtures: they are closed before and after, so none outlives a test
    (one left open was cut by the database drill, and the next browser test found it dead)."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        connections.close_all()
        browser = launch(playwright, camera=camera, camera_allowed=camera_allowed)
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()


def sign_in(page: Any, live_server: Any, user: Any) -> None:
    """Sign ``user`` in to the back office and wait for its dashboard."""
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#facesite-dashboard")
