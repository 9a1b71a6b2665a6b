"""Secrets Facesite must be able to read back (endpoints' signing secrets, API secret access keys,
cameras' stream URLs), encrypted at rest. Here, at the bottom with the other helpers every app may use,
so that no app imports the project package (``facesite``), which imports the apps.

Fernet (AES-128-CBC with HMAC-SHA256, from the ``cryptography`` package) under a key derived with HKDF
from ``FACESITE_SECRETS_KEY`` (a setting separate from ``SECRET_KEY``) and the secret's purpose, so each
kind of secret has its own key. A database dump alone reveals none of them.
"""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class UnreadableSecret(Exception):
    """The secret was encrypted under another ``FACESITE_SECRETS_KEY``."""


def seal(plain: str, *, purpose: bytes) -> str:
    return _fernet(settings.FACESITE_SECRETS_KEY, purpose).encrypt(plain.encode()).decode()


def unseal(token: str, *, purpose: bytes) -> str:
    try:
        return _fernet(settings.FACESITE_SECRETS_KEY, purpose).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise UnreadableSecret("FACESITE_SECRETS_KEY is not the key this secret was encrypted with.") from exc


@cache
def _fernet(key_material: str, purpose: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(key_material.encode())
    return Fernet(base64.urlsafe_b64encode(key))
