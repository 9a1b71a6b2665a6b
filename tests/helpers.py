import json
import re
import time

import redis
import requests
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token

from backoffice.tokens import stored_key
from recognition.models import Image


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.1, message=None):
    """Poll until ``predicate()`` is truthy and return its value; fail after ``timeout`` seconds, saying
    ``message()`` too when given (what the failure needs to be understood: a log, a figure)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s" + (f"\n{message()}" if message else ""))


def http_get(url: str, **kwargs) -> requests.Response | None:
    """``requests.get`` with a short timeout, or None while nothing answers at ``url`` (a server starting or
    stopped). A response is truthy only when its status is below 400, so ``wait_for(lambda: http_get(url))``
    waits for a good answer."""
    try:
        return requests.get(url, timeout=5, **kwargs)
    except requests.RequestException:
        return None


def status_of(image_id) -> str:
    return Image.objects.values_list("status", flat=True).get(pk=image_id)


def end_other_database_sessions() -> int:
    """End every other client session on the test database (PostgreSQL), as a server restart or a failover
    would; how many were ended."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return int(cursor.fetchone()[0])


def without_creation_time(document: str) -> str:
    """An event document less the time it was made, which is all that differs between two builds of it."""
    return re.sub(r'<event ([^>]*)createdAt="[^"]*"', r"<event \1", document, count=1)


_token_keys: dict[object, str] = {}


def token_for(user) -> str:
    """A working API token key for ``user``, stored hashed as Facesite stores them; the same key while the
    user's token lasts. Test set-up, so not issued through the audited service (no audit row)."""
    key = _token_keys.get(user.pk)
    if key is None or not Token.objects.filter(user=user, key=stored_key(key)).exists():
        key = Token.generate_key()
        Token.objects.filter(user=user).delete()
        Token.objects.create(user=user, key=stored_key(key))
        _token_keys[user.pk] = key
    return key


def queued_tasks(queue: str) -> list[str]:
    """The names of the tasks waiting in a queue of the real broker."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return [json.loads(message)["headers"]["task"] for message in broker.lrange(queue, 0, -1)]
