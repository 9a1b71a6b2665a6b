"""Signing in to the back office through its pages, the second step included, for the tests."""

import re

import pyotp
from django.test import Client

from recognition.models import AuditEvent

PASSWORD = "correct horse battery staple"  # UserFactory's


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


def second_steps(user) -> list[str]:
    """How each of ``user``'s completed sign-ins passed the second step, oldest first (the audit trail)."""
    rows = AuditEvent.objects.filter(action="user.sign_in", actor=user).order_by("pk")
    return [row.details["second_step"] for row in rows]
