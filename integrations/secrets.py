"""Endpoints' signing secrets, encrypted at rest (see ``recognition.secrets``): a database dump alone
does not reveal the secrets that sign events sent to door systems."""

from __future__ import annotations

import secrets

from django.core.exceptions import ImproperlyConfigured

from recognition.secrets import UnreadableSecret, seal, unseal

PURPOSE = b"facesite endpoint secrets"  # the HKDF info: fixed, or stored secrets could not be read


def new_secret() -> str:
    """A fresh signing secret: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def encrypt(plain: str) -> str:
    return seal(plain, purpose=PURPOSE)


def decrypt(token: str) -> str:
    try:
        return unseal(token, purpose=PURPOSE)
    except UnreadableSecret as exc:
        raise ImproperlyConfigured(
            "An endpoint's signing secret cannot be decrypted: FACESITE_SECRETS_KEY is not the key it was "
            "encrypted with. Restore that key, or set a new secret on the endpoint."
        ) from exc
