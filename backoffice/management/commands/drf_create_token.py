"""``manage.py drf_create_token USERNAME``: an API token, audited and shown once.

It takes the place of Django REST framework's command of the same name (``backoffice`` comes before
``rest_framework.authtoken`` in INSTALLED_APPS), with its arguments and its output line, so scripts that
read the key from it still work. Unlike DRF's, it never prints a token that already exists.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.timezone import localtime
from rest_framework.authtoken.models import Token

from backoffice.tokens import api_token_expires, api_token_issue, api_token_revoke


class Command(BaseCommand):
    help = (
        "Issue an API token for USERNAME (Authorization: Token KEY). The key is printed this once, on a line "
        "'Generated token KEY for user USERNAME'. -r replaces the user's token; --revoke takes it away."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("-r", "--reset", action="store_true", dest="reset_token",
                            help="Replace the user's token; the old one stops working at once.")  # fmt: skip
        action.add_argument("--revoke", action="store_true", help="Take the user's token away.")

    def handle(self, *args: Any, username: str, reset_token: bool, revoke: bool, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is called {username!r}.")
        if revoke:
            if not api_token_revoke(user=user):
                raise CommandError(f"{username} has no API token.")
            self.stderr.write(f"{username}'s API token is revoked; requests with it are refused.")
            return
        if not user.is_active:
            raise CommandError(f"{username} is inactive; their token would be refused.")
        existing = Token.objects.filter(user=user).first()
        if existing is not None and not reset_token:
            raise CommandError(
                f"{username} already has an API token, made {localtime(existing.created):%Y-%m-%d}; a key is shown "
                "only when it is issued. Run again with -r to replace it (the old one stops working)."
            )
        token, key = api_token_issue(user=user)
        expires = api_token_expires(token)
        self.stderr.write(
            "Keep the key now: it is not shown again. "
            + (f"It stops working on {localtime(expires):%Y-%m-%d}." if expires else "It does not expire.")
        )
        self.stdout.write(f"Generated token {key} for user {username}")
