"""``manage.py two_step_reset USERNAME``: take away a user's authenticator, recovery codes and security keys, and
give them ``FACESITE_TWO_STEP_SETUP_DAYS`` to set up a new one, audited; for when no administrator can sign in to
do it from the admin (the only one lost their phone, or let their days to set it up pass)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from backoffice.two_step import setup_deadline, two_step_reset


class Command(BaseCommand):
    help = (
        "Reset USERNAME's two-step sign-in (a lost phone): their authenticator, recovery codes and security keys "
        "stop working, and they set up a new authenticator after their password within FACESITE_TWO_STEP_SETUP_DAYS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is called {username!r}.")
        had_one = two_step_reset(user=user, actor=None)
        deadline = setup_deadline(user)
        until = f", until {timezone.localtime(deadline):%Y-%m-%d %H:%M %Z}" if deadline else ""
        if had_one:
            self.stdout.write(f"{username}'s two-step sign-in is reset: they set up a new authenticator after "
                              f"signing in{until}.")  # fmt: skip
        else:
            self.stdout.write(f"{username} had not set up two-step sign-in: they may set it up after signing "
                              f"in{until}.")  # fmt: skip
