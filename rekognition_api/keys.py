"""Creating and revoking API access keys, audited."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.db import transaction

from recognition.audit import Actor, audit_record, authenticated_user
from recognition.exceptions import NotAllowed
from recognition.models import AuditEvent
from rekognition_api.models import AccessKey

if TYPE_CHECKING:
    from django.contrib.auth.models import User

KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
KEY_PREFIX = "FSKA"  # Facesite's own, as AWS keys start AKIA


def access_key_create(*, user: User, description: str = "", actor: Actor = None,
                      client_ip: str | None = None) -> tuple[AccessKey, str]:  # fmt: skip
    """A new key pair for ``user``; the secret is returned this once and kept only encrypted. ``NotAllowed``
    when ``actor`` may not make ``user`` a key (``access_key_refusal``)."""
    if refusal := access_key_refusal(actor=actor, user=user):
        raise NotAllowed(refusal)
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


def access_key_refusal(*, actor: Actor, user: User) -> str:
    """Why ``actor`` may not make a key for ``user``, or nothing when they may. A key acts as its user, and the
    audit trail names that user: a key for someone who may do more would let ``actor`` do it in their name. So
    only a superuser makes keys for superusers, and others only for themselves or for users who may do nothing
    they may not (a script's own account, say). The command line (no actor) may make any."""
    if actor is None:
        return ""  # whoever runs the command has the server's shell
    creator = authenticated_user(actor)
    if creator is None:
        return "Only a signed-in user makes access keys."
    if creator.is_superuser or creator.pk == user.pk:
        return ""
    if user.is_superuser:
        return f"{user} is a superuser: only a superuser makes access keys for them."
    if beyond := sorted(user.get_all_permissions() - creator.get_all_permissions()):
        return (f"{user} may do what you may not ({', '.join(beyond[:3])}{', …' if len(beyond) > 3 else ''}), and a "
                "key acts in its user's name: ask a superuser.")  # fmt: skip
    return ""


def access_key_revoke(*, key: AccessKey, actor: Actor = None, client_ip: str | None = None) -> None:
    with transaction.atomic():
        AccessKey.objects.filter(pk=key.pk).update(is_active=False)
        audit_record(actor=actor, action=AuditEvent.Action.ACCESS_KEY_REVOKE, target=key, client_ip=client_ip)
