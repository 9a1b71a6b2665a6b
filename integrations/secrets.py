"""Endpoints' signing secrets, encrypted at rest.

Fernet (AES-128-CBC with HMAC-SHA256, from the ``cryptography`` package) under a key derived
with HKDF from ``FACESITE_SECRETS_KEY``, a setting separate from ``SECRET_KEY``. A database dump
alone does not reveal the secrets that sign events sent to door systems.
"""

from __future__ import annotations

import base64
import secrets
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def new_secret() -> str:
    """A fresh signing secret: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def encrypt(plain: str) -> str:
    return _fernet(settings.FACESITE_SECRETS_KEY).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(settings.FACESITE_SECRETS_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "An endpoint's signing secret cannot be decrypted: FACESITE_SECRETS_KEY is not the key it was "
            "encrypted with. Restore that key, or set a new secret on the endpoint."
        ) from exc


@cache
def _fernet(key_material: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"facesite endpoint secrets").derive(
        key_material.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))
