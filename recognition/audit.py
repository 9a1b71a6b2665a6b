"""Recording who did what to biometric data."""

from __future__ import annotations

from django.db import models

from recognition.models import AuditEvent


def request_ip(request) -> str | None:
    if request is None:
        return None
    # Behind a reverse proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None


def authenticated_user(user):
    """The user when signed in; None for anonymous or absent ones (what foreign keys to users store)."""
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def audit_record(
    *, actor, action: str, target: models.Model | None = None, client_ip: str | None = None, **details
) -> AuditEvent:
    user = authenticated_user(actor)
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "",
        action=action,
        object_type=target._meta.model_name if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        client_ip=client_ip,
        details=details,
    )
