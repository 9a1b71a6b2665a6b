"""Failures counted in the shared cache for a lockout of ``FACESITE_LOCKOUT_SECONDS``: sign-ins by user name and
address (``backoffice``), unknown API tokens and Rekognition access keys or signatures by address."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def lockout_key(kind: str, *parts: str) -> str:
    return f"lockout:{kind}:" + hashlib.sha256("\0".join(parts).encode()).hexdigest()


def count_failure(key: str) -> int:
    """One more failure under ``key``, counted for the lockout's length; the count so far."""
    cache.add(key, 0, settings.FACESITE_LOCKOUT_SECONDS)
    return int(cache.incr(key))


def guessing(kind: str, address: str | None) -> bool:
    """One more unknown credential of ``kind`` (an API token, an access key or signature) from ``address``;
    whether that address has now tried more than ``FACESITE_TOKEN_FAILURES`` within the lockout. Only failures
    are counted, so a real credential costs no round trip to the cache, and still passes from anywhere."""
    return count_failure(lockout_key(kind, address or "-")) > settings.FACESITE_TOKEN_FAILURES
