"""A door kiosk's account: made with the kiosk, in the Kiosk role (badge checks only), its password
replaced on demand; both audited, as API access keys and endpoint secrets are. Passwords are returned to
be shown once, and never stored but as Django's hash."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from backoffice.roles import KIOSK
from kiosk.models import Kiosk
from recognition.audit import Actor, audit_record
from recognition.models import AuditEvent


def kiosk_create(*, kiosk: Kiosk, actor: Actor = None, client_ip: str | None = None) -> str:
    """Save a new ``kiosk`` with its account, ``kiosk-<name>``; the account's password."""
    password = secrets.token_urlsafe(12)
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=f"kiosk-{kiosk.name}", password=password)
        user.groups.add(Group.objects.get(name=KIOSK))
        kiosk.user = user
        kiosk.save()
        audit_record(actor=actor, action=AuditEvent.Action.KIOSK_CREATE, target=kiosk, client_ip=client_ip,
                     name=kiosk.name, account=user.get_username())  # fmt: skip
    return password


def kiosk_new_password(*, kiosk: Kiosk, actor: Actor = None, client_ip: str | None = None) -> str:
    """Replace the kiosk account's password, which signs its screen out; the new password."""
    password = secrets.token_urlsafe(12)
    with transaction.atomic():
        kiosk.user.set_password(password)  # a new password ends the sessions made with the old one
        kiosk.user.save(update_fields=["password"])
        audit_record(actor=actor, action=AuditEvent.Action.KIOSK_PASSWORD, target=kiosk, client_ip=client_ip,
                     name=kiosk.name, account=kiosk.user.get_username())  # fmt: skip
    return password
