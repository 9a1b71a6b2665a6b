"""Subject access exports made in the background, for people seen too often to export while a request waits
(more than ``FACESITE_EXPORT_WEB_MAX_SIGHTINGS`` sightings, each a crop cut from its photo).

A worker makes the zip (``subject_access.person_export``) and keeps it in storage under ``exports/``; those
allowed to export people's data download it until it expires, ``FACESITE_RETENTION["exports"]`` days after
it was asked for, when the nightly purge deletes it. Erasing the person deletes their exports with them.
Asking, making and downloading are each audited against the person.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import IO

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from recognition.audit import Actor, audit_record, authenticated_user
from recognition.exceptions import Conflict, FacesiteError, FileMissing
from recognition.models import AuditEvent, Person, PersonExport
from recognition.services.access import require_permission
from recognition.services.files import delete_files_after_commit, stored_as
from recognition.services.queue import enqueue_after_commit
from recognition.services.subject_access import EXPORT, TOO_SLOW, ExportTooSlow, person_export

logger = logging.getLogger(__name__)
MAKE_PERSON_EXPORT = "recognition.tasks.make_person_export"


class ExportGone(Exception):
    """The export was deleted (or its person erased) while it was being made."""


def _kept_for() -> timedelta:
    return timedelta(days=settings.FACESITE_RETENTION["exports"])


def export_expires_at(export: PersonExport) -> datetime:
    return export.created_at + _kept_for()


def export_expired(export: PersonExport) -> bool:
    return export_expires_at(export) <= timezone.now()


def exports_older_than(cutoff: datetime) -> QuerySet[PersonExport]:
    """The exports asked for before ``cutoff``: what the purge deletes, ``FACESITE_RETENTION["exports"]`` days on."""
    return PersonExport.objects.filter(created_at__lt=cutoff)


def exports_current() -> dict[str, int]:
    """How many exports not yet expired are ready, being made, or failed: for the dashboard."""
    cutoff = timezone.now() - _kept_for()
    current = PersonExport.objects.filter(created_at__gte=cutoff).values_list("status").annotate(n=Count("pk"))
    return dict.fromkeys(PersonExport.Status.values, 0) | dict(current.order_by())


def export_request(*, person: Person, actor: Actor = None, client_ip: str | None = None) -> PersonExport:
    """Have a worker make ``person``'s export; the one already being made for them, if any (a second click
    makes no second zip). Audited as ``person.export.request``."""
    require_permission(actor, EXPORT, to="export a person's data")
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).first()  # one request at a time per person
        export = person.exports.filter(status=PersonExport.Status.PENDING).first()
        if export is None:
            export = PersonExport.objects.create(person=person, requested_by=authenticated_user(actor))
            enqueue_after_commit(task=MAKE_PERSON_EXPORT, args=[str(export.pk)])
        audit_record(actor=actor, action=AuditEvent.Action.PERSON_EXPORT_REQUEST, target=person,
                     client_ip=client_ip, export=str(export.pk))  # fmt: skip
    return export


def export_make(*, export_id: str) -> PersonExport.Status | None:
    """Make the zip of a pending export and keep it; the export's status after, or None when it has gone.
    Safe to run twice (a message redelivered after a worker was lost): only a pending export is made, and a
    zip made for one that has meanwhile gone, or was made by the other run, is deleted again."""
    export = PersonExport.objects.filter(pk=export_id, status=PersonExport.Status.PENDING).select_related(
        "person", "requested_by").first()  # fmt: skip
    if export is None:
        return None
    PersonExport.objects.filter(pk=export.pk).update(started_at=timezone.now(), attempts=F("attempts") + 1)
    try:
        deadline = time.monotonic() + settings.FACESITE_EXPORT_TIME_LIMIT - 30  # whatever the pool enforces
        with person_export(person=export.person, actor=export.requested_by, deadline=deadline,
                           export=str(export.pk)) as archive:  # fmt: skip
            size = archive.seek(0, 2)
            archive.seek(0)
            with stored_as(f"exports/{export.pk}.zip", File(archive), kind="export", key=export.pk) as name:
                _finish(export, status=PersonExport.Status.READY, file=name, size=size)
    except ExportGone:
        return None
    except Exception as exc:  # whatever failed is told, on the export's row, to whoever asked
        logger.exception("Could not make the subject access export %s", export.pk)
        try:
            _finish(export, status=PersonExport.Status.FAILED, error=_why(exc))
        except ExportGone:
            return None
        return PersonExport.Status.FAILED
    return PersonExport.Status.READY


def _why(exc: Exception) -> str:
    if isinstance(exc, ExportTooSlow | SoftTimeLimitExceeded):  # our deadline, or a prefork pool's limit
        return TOO_SLOW
    return exc.message if isinstance(exc, FacesiteError) else f"{type(exc).__name__}: {exc}"


def _finish(export: PersonExport, *, status: PersonExport.Status, **fields: object) -> None:
    """Mark a pending export done; ``ExportGone`` (the caller's stored zip deleted with it) when it is
    no longer there to mark."""
    pending = PersonExport.objects.filter(pk=export.pk, status=PersonExport.Status.PENDING)
    if not pending.update(status=status, finished_at=timezone.now(), **fields):
        raise ExportGone(export.pk)


def exports_sweep_lost() -> dict[str, int]:
    """Make again the exports whose message was lost (pending and never started for
    ``FACESITE_PENDING_RETRY_AFTER``) or whose worker was (started longer ago than its task may run), so none
    waits for good; one lost or timed out ``FACESITE_ANALYSIS_MAX_ATTEMPTS`` times fails, saying how to make it
    instead. Making one twice is harmless: only one run keeps its zip."""
    now = timezone.now()
    pending = PersonExport.objects.filter(status=PersonExport.Status.PENDING)
    retry_after = timedelta(seconds=settings.FACESITE_PENDING_RETRY_AFTER)
    never_started = Q(started_at__isnull=True, queued_at__lt=now - retry_after)
    lost = Q(started_at__lt=now - timedelta(seconds=settings.FACESITE_EXPORT_TIME_LIMIT + 60))
    most = settings.FACESITE_ANALYSIS_MAX_ATTEMPTS
    gave_up = pending.filter(lost, attempts__gte=most).update(
        status=PersonExport.Status.FAILED, finished_at=now,
        error=f"Gave up after {most} attempts: the worker was lost or timed out each time. Make it on the "
        "server with manage.py export_person.",
    )  # fmt: skip
    requeued = 0
    for export_id in pending.filter(never_started | lost).values_list("pk", flat=True):
        with transaction.atomic():
            if pending.filter(never_started | lost, pk=export_id).update(queued_at=now, started_at=None):
                enqueue_after_commit(task=MAKE_PERSON_EXPORT, args=[str(export_id)])
                requeued += 1
    if requeued or gave_up:
        logger.warning("Sweeper: %s subject access export(s) queued again, %s given up", requeued, gave_up)
    return {"exports_requeued": requeued, "exports_gave_up": gave_up}


def export_open(*, export: PersonExport, actor: Actor = None, client_ip: str | None = None) -> IO[bytes]:
    """The ready zip, open for reading. ``Conflict`` while it is being made, when it failed or has expired;
    ``FileMissing`` when storage lost it. Audited as ``person.export.download``."""
    require_permission(actor, EXPORT, to="export a person's data")
    if export.status == PersonExport.Status.PENDING:
        raise Conflict("The export is still being made; try again in a few minutes.", code="export_pending")
    if export.status == PersonExport.Status.FAILED:
        raise Conflict(f"The export could not be made: {export.error} Ask for a new one.", code="export_failed")
    if export_expired(export):
        raise Conflict("The export has expired; ask for a new one.", code="export_expired")
    try:
        archive = export.file.open("rb")
    except FileNotFoundError as exc:
        raise FileMissing(
            f"The export's file ({export.file.name}) is missing from storage; ask for a new one."
        ) from exc
    audit_record(actor=actor, action=AuditEvent.Action.PERSON_EXPORT_DOWNLOAD, target=export.person,
                 client_ip=client_ip, export=str(export.pk))  # fmt: skip
    return archive


def export_delete(*, export: PersonExport) -> None:
    """Delete an export and its zip (a worker still making it finds it gone and deletes what it made)."""
    with transaction.atomic():
        exports_delete_files(PersonExport.objects.filter(pk=export.pk))
        export.delete()


def exports_delete_files(exports: QuerySet[PersonExport]) -> None:
    """Delete the zips of these exports once the transaction deleting their rows commits. The rows are locked
    first, so that an export being finished meanwhile is read with the zip it was given."""
    names = [name for name in exports.select_for_update().values_list("file", flat=True) if name]
    delete_files_after_commit(names=names)
