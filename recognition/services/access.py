"""Permissions that services enforce themselves, for actions too sensitive to leave to each caller."""

from __future__ import annotations

from recognition.audit import Actor
from recognition.exceptions import NotAllowed

ENROL = "recognition.enroll_person"
SEARCH = "recognition.search_faces"


def require_permission(actor: Actor, permission: str, *, to: str) -> None:
    """Refuse (``NotAllowed``) a user without ``permission``. ``None`` is the system itself (commands, tasks)."""
    if actor is not None and not actor.has_perm(permission):  # type: ignore[union-attr]
        raise NotAllowed(f"You need the permission to {to}.")
