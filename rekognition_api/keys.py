"""Creating and revoking API access keys, audited."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.db import transaction

from recognition.audit import Actor, audit_record
from recognition.models import AuditEvent
from rekognition_api.models import AccessKey

if TYPE_CHECKING:
    from django.contrib.auth.models import User

KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
KEY_PREFIX = "FSKA"  # Facesite's own, as AWS keys start AKIA


def access_key_create(*, user: User, description: str = "", actor: Actor = None,
                      client_ip: str | None = None) -> tuple[AccessKey, str]:  # fmt: skip
    """A new key pair for ``user``; the secret is returned this once and kept only encrypted."""
    secret = secrets.token_urlsafe(30)  # 40 characters, as AWS secrets are
    with transaction.atomic():
        key = AccessKey(
            access_key_id=KEY_PREFIX + "".join(secrets.choice(KEY_ALPHABET) for _ in range(16)),
            user=user,
            description=description,
        )
        key.secret = secret
        key.save()
        audit_record(actor=actor, action=AuditEvent.Action.ACCESS_KEY_CREATE, target=key, client_ip=client_ip,
                     user=str(user))  # fmt: skip
    return key, secret


def access_key_revoke(*, key: AccessKey, actor: Actor = None, client_ip: str | None = None) -> None:
    with transaction.atomic():
        AccessKey.objects.filter(pk=key.pk).update(is_active=False)
        audit_record(actor=actor, action=AuditEvent.Action.ACCESS_KEY_REVOKE, target=key, client_ip=client_ip)
