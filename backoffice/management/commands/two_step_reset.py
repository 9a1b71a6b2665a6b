"""``manage.py two_step_reset USERNAME``: take away a user's authenticator and recovery codes, audited, for
when no administrator can sign in to do it from the admin (the only one lost their phone)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backoffice.two_step import two_step_reset


class Command(BaseCommand):
    help = (
        "Reset USERNAME's two-step sign-in (a lost phone): their authenticator and recovery codes stop working, "
        "and they set up a new authenticator after their password."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is called {username!r}.")
        if not two_step_reset(user=user, actor=None):
            raise CommandError(f"{username} has no two-step sign-in set up.")
        self.stdout.write(f"{username}'s two-step sign-in is reset: they set up a new authenticator after signing in.")
