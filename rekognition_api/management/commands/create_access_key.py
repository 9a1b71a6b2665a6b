"""``manage.py create_access_key USERNAME``: an access key pair for the Rekognition-compatible API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rekognition_api.keys import access_key_create


class Command(BaseCommand):
    help = (
        "Create an access key for USERNAME to sign Rekognition-compatible requests (boto3, the AWS CLI). "
        "The last line printed is 'ACCESS_KEY_ID SECRET_ACCESS_KEY'; the secret is shown this once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--description", default="", help="What the key is for (shown in the admin).")

    def handle(self, *args: Any, username: str, description: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is called {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username} is inactive; their keys would be refused.")
        key, secret = access_key_create(user=user, description=description)
        self.stderr.write(
            f"Access key for {username} (requests act with their role). Keep the secret now: it is not shown again.\n"
            "  export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... and point clients at "
            "endpoint_url=http://HOST:PORT/rekognition"
        )
        self.stdout.write(f"{key.access_key_id} {secret}")
