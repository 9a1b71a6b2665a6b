"""API tokens (DRF's ``Authorization: Token``), issued and revoked through here, audited.

A token's key is shown once, when it is issued, and the database keeps only its SHA-256 (``stored_key``;
``backoffice.auth`` hashes the key a request presents the same way), so a copy of the database or of its
backups holds no working credential. The audit rows name the token's user, never a key.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from rest_framework.authtoken.models import Token

from recognition.audit import Actor, audit_record
from recognition.models import AuditEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def stored_key(key: str) -> str:
    """What the database keeps of a token's key: its SHA-256 in hex, cut to the 40 characters of DRF's
    column (160 bits)."""
    return hashlib.sha256(key.encode()).hexdigest()[:40]


def api_token_expires(token: Token) -> datetime | None:
    """When ``token`` stops working (``FACESITE_TOKEN_MAX_AGE`` after it was made); None when it never does."""
    max_age = settings.FACESITE_TOKEN_MAX_AGE
    return token.created + timedelta(seconds=max_age) if max_age else None


#: How far ahead the dashboard warns of tokens that stop working.
EXPIRY_WARNING = timedelta(days=14)


def api_tokens_expiring(*, now: datetime, within: timedelta = EXPIRY_WARNING) -> tuple[int, int]:
    """How many tokens stop working within ``within`` of ``now``, and how many already have (their users'
    programs get 401 until they are given new ones); none when tokens never expire."""
    max_age = settings.FACESITE_TOKEN_MAX_AGE
    if not max_age:
        return 0, 0
    made_before = now - timedelta(seconds=max_age)
    expired = Token.objects.filter(created__lte=made_before).count()
    soon = Token.objects.filter(created__gt=made_before, created__lte=made_before + within).count()
    return soon, expired


def api_token_issue(*, user: User, actor: Actor = None, client_ip: str | None = None) -> tuple[Token, str]:
    """A new token for ``user``, replacing the one they had (which stops working at once), and its key:
    show it now, as nothing can show it again."""
    key = Token.generate_key()
    with transaction.atomic():
        replaced, _ = Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user, key=stored_key(key))
        audit_record(actor=actor, action=AuditEvent.Action.API_TOKEN_ISSUE, target=user, client_ip=client_ip,
                     replaced=bool(replaced))  # fmt: skip
    return token, key


def api_token_revoke(*, user: User, actor: Actor = None, client_ip: str | None = None) -> bool:
    """Take ``user``'s token away; False when they had none (nothing is recorded then)."""
    with transaction.atomic():
        deleted, _ = Token.objects.filter(user=user).delete()
        if deleted:
            audit_record(actor=actor, action=AuditEvent.Action.API_TOKEN_REVOKE, target=user, client_ip=client_ip)
    return bool(deleted)
