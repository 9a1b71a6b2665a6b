"""Fixtures the system tests share."""

from pathlib import Path

import pytest

from tests.browser import CHROMIUM, chromium


@pytest.fixture
def browser(monkeypatch):
    """Headless Chromium for one test, or the test skipped with the reason where it cannot be had."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed and could not be installed here (Debian package `chromium`).")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium() as browser:
        yield browser
