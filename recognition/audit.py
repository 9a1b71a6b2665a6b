"""Recording who did what to biometric data.

Services record every change they make; views and the admin record only reads,
through ``audit_request``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from recognition.models import AuditEvent

Actor = AbstractBaseUser | AnonymousUser | None

#: What audit rows name as the credential used (``details["credential"]``): a REST API token, or one of a
#: user's Rekognition access keys, "access key AKIA…" (``access_key_credential``). Admin sessions name none.
API_TOKEN = "API token"
ACCESS_KEY = "access key"


def access_key_credential(access_key_id: str) -> str:
    return f"{ACCESS_KEY} {access_key_id}"


_credential: ContextVar[str] = ContextVar("audit_credential", default="")
_in_request: ContextVar[bool] = ContextVar("audit_in_request", default=False)


@contextmanager
def acting_with(credential: str) -> Iterator[None]:
    """Within the block, audit rows name ``credential`` (``details["credential"]``) beside their actor: which
    of a user's keys was used, when a user may hold several and someone else may have created them."""
    token = _credential.set(credential)
    try:
        yield
    finally:
        _credential.reset(token)


@contextmanager
def request_credential_scope() -> Iterator[None]:
    """One request's time: a credential named with ``acting_with_for_request`` is forgotten at its end
    (``facesite.middleware.AuditCredentialMiddleware`` opens one around every request)."""
    credential, in_request = _credential.set(""), _in_request.set(True)
    try:
        yield
    finally:
        _credential.reset(credential)
        _in_request.reset(in_request)


def acting_with_for_request(credential: str) -> None:
    """For the rest of this request, audit rows name ``credential``: for an authentication class, which
    learns the credential inside the request with no block to wrap around the rest of it."""
    if not _in_request.get():
        raise RuntimeError("No request credential scope: is AuditCredentialMiddleware in MIDDLEWARE?")
    _credential.set(credential)


def _with_credential(details: dict[str, Any]) -> dict[str, Any]:
    credential = _credential.get()
    return {**details, "credential": credential} if credential else details


def request_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # Behind a reverse proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None


def authenticated_user(user: Actor) -> Any:
    """The user when signed in; None for anonymous or absent ones (what foreign keys to users store)."""
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def audit_record(
    *, actor: Actor, action: AuditEvent.Action, target: models.Model | None = None, client_ip: str | None = None,
    **details: Any,
) -> AuditEvent:  # fmt: skip
    user = authenticated_user(actor)
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "",
        action=action,
        object_type=(target._meta.model_name or "") if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        client_ip=client_ip,
        details=_with_credential(details),
    )


#: A read of the same object by the same user within this long of the last one is counted, not repeated:
#: a reviewer paging through an image should leave one line, not one per thumbnail request.
REPEAT_WINDOW = timedelta(minutes=5)


def audit_request(request: HttpRequest, action: AuditEvent.Action, target: models.Model, **details: Any) -> AuditEvent:
    """Record that the signed-in user of ``request`` read ``target`` (counted on the earlier row when they
    read it with the same details from the same address moments ago)."""
    _require_read(action)
    user = authenticated_user(request.user)
    now = timezone.now()
    if user is not None:
        earlier = (
            AuditEvent.objects.filter(
                actor=user, action=action, object_type=target._meta.model_name or "", object_id=str(target.pk),
                client_ip=request_ip(request), details=_with_credential(details),
            )
            .filter(Q(last_at__gte=now - REPEAT_WINDOW) | Q(last_at__isnull=True, created_at__gte=now - REPEAT_WINDOW))
            .order_by("-created_at")
            .first()
        )  # fmt: skip
        if earlier is not None:
            AuditEvent.objects.filter(pk=earlier.pk).update(repeats=F("repeats") + 1, last_at=now)
            return earlier
    return audit_record(actor=request.user, action=action, target=target, client_ip=request_ip(request), **details)


def audit_list(request: HttpRequest, action: AuditEvent.Action, **details: Any) -> AuditEvent:
    """Record that the signed-in user of ``request`` listed or searched records, once per request; the
    query (filters, search) says whom they were looking for."""
    _require_read(action)
    return audit_record(
        actor=request.user, action=action, client_ip=request_ip(request), query=request.GET.urlencode(), **details
    )


def _require_read(action: AuditEvent.Action) -> None:
    if action not in AuditEvent.READS:  # so the trail's "reads" filter and the dashboard stay right
        raise ValueError(f"{action} is not in AuditEvent.READS: record what is done with audit_record.")
