"""Signing in to the back office through its pages, the second step included (codes, and security keys as
``security_keys.js`` drives them), for the tests."""

import re
from datetime import timedelta

import pyotp
from django.test import Client
from django.utils import timezone

from recognition.models import AuditEvent
from tests.factories import UserFactory
from tests.security_key import SoftwareKey

PASSWORD = "correct horse battery staple"  # UserFactory's
ORIGIN = "http://testserver"  # the test client's


def signed_in(user, next_page: str = "/admin/") -> tuple[Client, str]:
    """A client past the password (not the second step), and the page it was sent to."""
    client = Client()
    answer = client.post("/admin/login/", {"username": user.username, "password": PASSWORD, "next": next_page},
                         follow=True)  # fmt: skip
    return client, answer.redirect_chain[-1][0] if answer.redirect_chain else answer.request["PATH_INFO"]


def set_up(client: Client) -> tuple[str, list[str]]:
    """Set up an authenticator on the page offered: its secret (read off the page) and the recovery codes."""
    page = client.get("/admin/two-step/setup/").content.decode()
    secret = re.search(r'class="two-step-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    codes_page = client.post("/admin/two-step/setup/", {"code": pyotp.TOTP(secret).now()}).content.decode()
    return secret, re.findall(r"<li><code>([a-z0-9-]+)</code></li>", codes_page)


def code_after(secret: str, steps: int) -> str:
    """The authenticator's code ``steps`` of 30 s from now: one not used yet by ``set_up``."""
    return pyotp.TOTP(secret).at(timezone.now() + timedelta(seconds=30 * steps))


def second_steps(user) -> list[str]:
    """How each of ``user``'s completed sign-ins passed the second step, oldest first (the audit trail)."""
    rows = AuditEvent.objects.filter(action="user.sign_in", actor=user).order_by("pk")
    return [row.details["second_step"] for row in rows]


def key_added(client: Client, key: SoftwareKey, name: str = "Blue key") -> dict:
    """Add ``key`` on the keys page, as security_keys.js does; the server's last answer."""
    options = client.post("/admin/two-step/security-keys/add/options/").json()["options"]
    return client.post("/admin/two-step/security-keys/add/",
                       {"name": name, "credential": key.create(options, origin=ORIGIN)}).json()  # fmt: skip


def key_options(client: Client) -> dict:
    return client.post("/admin/two-step/security-key/options/").json()


def key_answer(client: Client, credential: str, next_page: str = "/admin/"):
    return client.post("/admin/two-step/security-key/", {"credential": credential, "next": next_page})


def user_with_key(key: SoftwareKey, **fields) -> object:
    """A back-office user with an authenticator app and ``key``, signed out."""
    user = UserFactory(is_staff=True, **fields)
    client, _ = signed_in(user)
    set_up(client)
    assert key_added(client, key) == {"next": "/admin/two-step/settings/"}
    return user
