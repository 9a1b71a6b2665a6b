"""A security key in a real browser: Chromium's virtual authenticator (its DevTools WebAuthn domain) stands in
for the key, and security_keys.js talks to it as it would to a USB key. Skipped with the reason where
Chromium cannot be had, as the other browser tests."""

import pyotp
import pytest

from backoffice.models import SecurityKey
from tests.browser import PASSWORD
from tests.factories import UserFactory
from tests.two_step import second_steps
from tests.workers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = ROOT / "var" / "screenshots"  # for a person to look at


def test_a_back_office_user_adds_a_key_chooses_keys_only_and_signs_in_with_a_touch(live_server, browser, settings):
    settings.FACESITE_TWO_STEP_REQUIRED = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    assert live_server.url.startswith("http://localhost:"), "browsers offer keys to a name, not an address"
    user = UserFactory(username="kim", is_staff=True)
    page = browser.new_page()
    refusals = []
    page.on("console", lambda message: refusals.append(message.text) if "Refused" in message.text else None)
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": False, "hasUserVerification": False,
        "automaticPresenceSimulation": True}})  # fmt: skip

    def password() -> None:
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")

    password()
    secret = page.locator(".two-step-secret").inner_text().replace(" ", "")
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.click("input[type=submit][value='Set up']")
    page.click("text=I have kept them: continue")
    page.wait_for_selector("#facesite-dashboard")

    page.goto(f"{live_server.url}/admin/two-step/settings/")
    page.fill("#id_key_name", "Blue key")
    page.click("input[type=submit][value='Add a security key']")
    page.wait_for_selector("text=The security key “Blue key” is added")
    assert SecurityKey.objects.get(user=user).name == "Blue key"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "security-keys.png"), full_page=True)
    page.click("button[name=keys_only][value=on]")
    page.wait_for_selector("text=From now on only your security keys sign you in")

    page.context.clear_cookies()
    password()
    page.screenshot(path=str(SCREENSHOTS / "two-step-keys-only.png"), full_page=True)
    assert page.locator("#id_code").count() == 0, "keys only: no code asked"
    page.click("input[type=submit][value='Use your security key']")
    page.wait_for_selector("#facesite-dashboard")
    assert second_steps(user)[-1] == "security key"
    assert SecurityKey.objects.get(user=user).last_used_at is not None
    assert refusals == [], "the Content Security Policy lets the page's script run"
