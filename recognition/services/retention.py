"""Retention: what is kept for how long, and the purge that removes what has outlived it.

Limits in days (0: kept until someone deletes it), from ``FACESITE_RETENTION``:

- ``images``: analysed images (uploads, URLs, imports; not enrolment photos, which stay as long as their
  reference faces), counted from their upload;
- ``unmatched_faces``: faces found in images but matched to no one (their embedding and crop are
  biometric data of someone who never enrolled), counted from their detection;
- ``verifications``: records of badge checks, counted from the check;
- ``people_unseen``: people whose face has not been seen (no sighting matched to them, no badge check)
  for this long are erased with all their biometric data, as Illinois' BIPA requires within three years
  of the last interaction (the default, 1 095 days);
- and those of what other apps keep and register here (``retention_register``): ``videos``, counted from
  their upload, removed with the frames kept for their sightings.

Everything goes through the erasure service (files, crops, engine collections, deliveries' documents);
the purge is audited as one ``retention.purge`` event with its counts, and each erased person as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from recognition.audit import audit_record
from recognition.models import AuditEvent, Face, Image, Person, Verification
from recognition.services.erasure import KEPT_FOR_FACES, faces_delete, image_delete, person_erase
from recognition.signals import verifications_purged

logger = logging.getLogger(__name__)
# What a purge removes of its own, as PurgePlan names them, and what to call each.
LABELS = {
    "images": "analysed images",
    "unmatched_faces": "faces matched to no one",
    "verifications": "badge checks",
    "people": "people not seen (erased)",
}


@dataclass(frozen=True)
class Retained:
    """What another app keeps under a retention limit of its own: ``due(cutoff)``, what is older than the
    cutoff; ``remove(one)``, through that app's own service (and so with its audit)."""

    label: str
    due: Callable[[datetime], QuerySet[Any]]
    remove: Callable[[Any], None]


_registered: dict[str, Retained] = {}


def retention_register(part: str, retained: Retained) -> None:
    """Purge ``part`` with the rest; its limit is ``FACESITE_RETENTION[part]``. For an app's ``ready()``."""
    _registered[part] = retained


def labels() -> dict[str, str]:
    """Every part a purge removes, with what to call it, in the order it is reported."""
    return LABELS | {part: retained.label for part, retained in _registered.items()}


@dataclass(frozen=True)
class PurgePlan:
    """What a purge now would remove, as querysets evaluated when counted or purged."""

    images: QuerySet[Image]
    unmatched_faces: QuerySet[Face]
    verifications: QuerySet[Verification]
    people: QuerySet[Person]
    registered: dict[str, QuerySet[Any]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        own = {name: getattr(self, name).count() for name in LABELS}
        return own | {part: due.count() for part, due in self.registered.items()}


def _cutoff(limit: str, now: datetime) -> datetime | None:
    days = settings.FACESITE_RETENTION[limit]
    return now - timedelta(days=days) if days else None


def purge_plan(*, now: datetime | None = None) -> PurgePlan:
    now = now or timezone.now()
    images, faces, checks, people = (
        Image.objects.none(), Face.objects.none(), Verification.objects.none(), Person.objects.none()
    )  # fmt: skip
    if cutoff := _cutoff("images", now):
        images = (
            Image.objects.filter(created_at__lt=cutoff)
            .exclude(source__in=KEPT_FOR_FACES)
            .exclude(status__in=[Image.Status.PENDING, Image.Status.PROCESSING])
        )
    if cutoff := _cutoff("unmatched_faces", now):
        faces = Face.objects.sightings().filter(person__isnull=True, created_at__lt=cutoff)
    if cutoff := _cutoff("verifications", now):
        checks = Verification.objects.filter(created_at__lt=cutoff)
    if cutoff := _cutoff("people_unseen", now):
        people = Person.objects.annotate(
            last_seen=Greatest(
                "created_at",
                Coalesce(Max("faces__created_at", filter=Q(faces__is_reference=False)), "created_at"),
                Coalesce(Max("verifications__created_at"), "created_at"),
            )
        ).filter(last_seen__lt=cutoff)
    registered = {}
    for part, retained in _registered.items():
        cutoff = _cutoff(part, now)
        registered[part] = retained.due(cutoff) if cutoff else retained.due(now).none()
    return PurgePlan(images=images, unmatched_faces=faces, verifications=checks, people=people, registered=registered)


def retention_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Remove what has outlived its limit; the counts removed. Safe to run at any time, and again."""
    plan = purge_plan(now=now)
    removed = dict.fromkeys(labels(), 0)
    for person in list(plan.people):
        person_erase(person=person)
        removed["people"] += 1
    for part, due in plan.registered.items():  # before images: a video takes the frames kept for it
        for one in list(due):
            _registered[part].remove(one)
            removed[part] += 1
    for pk in list(plan.images.values_list("pk", flat=True)):
        if image := Image.objects.filter(pk=pk).first():  # an erasure above may have taken it already
            image_delete(image=image)
            removed["images"] += 1
    with transaction.atomic():
        removed["unmatched_faces"] = faces_delete(faces=plan.unmatched_faces)
        check_ids = list(plan.verifications.values_list("pk", flat=True))
        verifications_purged.send(sender=Verification, verification_ids=check_ids)
        removed["verifications"] = Verification.objects.filter(pk__in=check_ids).delete()[0]
        audit_record(actor=None, action=AuditEvent.Action.RETENTION_PURGE, removed=removed,
                     limits=settings.FACESITE_RETENTION)  # fmt: skip
    logger.info("Retention purge removed %s", ", ".join(f"{n} {what}" for what, n in removed.items()))
    return removed
