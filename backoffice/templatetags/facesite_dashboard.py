"""The admin index dashboard: what needs attention now."""

from datetime import timedelta

from django import template
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from backoffice.tokens import api_tokens_expiring
from backoffice.two_step import users_without_authenticator, users_without_required_key
from integrations.models import Delivery
from recognition.admin.activity import sentences
from recognition.admin.common import thumbnail_url
from recognition.models import AuditEvent, Face, Image
from recognition.services.exports import exports_current
from recognition.services.retention import labels, purge_plan
from recognition.services.strays import strays_last_check
from recognition.services.subject_access import EXPORT

register = template.Library()


@register.inclusion_tag("admin/facesite_dashboard.html", takes_context=True)
def facesite_dashboard(context):
    user = context["request"].user
    since = timezone.now() - timedelta(hours=24)
    by_status = dict(
        Image.objects.filter(created_at__gte=since).values_list("status").annotate(n=Count("id")).order_by()
    )
    return {
        "images_by_status": [(label, by_status.get(value, 0), value) for value, label in Image.Status.choices],
        "review_queue": Face.objects.filter(is_reference=False, review_state=Face.Review.NEEDS_REVIEW).count(),
        "deliveries_failing": Delivery.objects.filter(
            status__in=[Delivery.Status.RETRYING, Delivery.Status.DEAD]
        ).count(),
        "deliveries_dead": Delivery.objects.filter(status=Delivery.Status.DEAD).count(),
        "recent": _recent_activity() if user.has_perm("recognition.view_auditevent") else [],
        "recent_images": [
            (image, thumbnail_url(image.pk))
            for image in Image.objects.exclude(file="").exclude(source=Image.Source.ENROLMENT)[:8]
        ]
        if user.has_perm("recognition.view_image")
        else [],
        "flower_url": settings.FLOWER_URL,
        "flower_shows_tasks": settings.FACESITE_TASK_EVENTS,  # off, it has no task events to show
        "can_review": user.has_perm("recognition.change_faceforreview"),
        "next_purge": _next_purge() if user.has_perm("recognition.view_image") else None,
        "tokens_expiring": api_tokens_expiring(now=timezone.now())
        if user.has_perm("backoffice.view_apitoken")
        else None,
        "strays": strays_last_check() if user.has_perm("recognition.delete_image") else None,
        "exports": exports_current() if user.has_perm(EXPORT) else None,
        "without_two_step": users_without_authenticator()
        if settings.FACESITE_TWO_STEP_REQUIRED and user.has_perm("auth.change_user")
        else 0,
        "setup_days": settings.FACESITE_TWO_STEP_SETUP_DAYS,
        "without_required_key": users_without_required_key() if user.has_perm("auth.change_user") else 0,
    }


def _next_purge() -> dict:
    """When the daily purge runs next, and what it will remove then if nothing changes before."""
    now = timezone.localtime()
    at = now.replace(hour=settings.FACESITE_PURGE_HOUR, minute=17, second=0, microsecond=0)
    at += timedelta(days=1) if at <= now else timedelta(0)
    counts = purge_plan(now=at).counts()
    return {"at": at, "parts": [(counts[part], label) for part, label in labels().items()]}


def _recent_activity() -> list[tuple[AuditEvent, str]]:
    """The latest things done. Reads stay in the audit trail: here, the dashboard's own thumbnails would
    push everything else out. So do sign-ins (not their lockouts) and purges that removed nothing, which
    would fill a quiet site's list."""
    latest = AuditEvent.objects.exclude(action__in=AuditEvent.READS | {AuditEvent.Action.USER_SIGN_IN})[:30]
    events = [event for event in latest if not _purged_nothing(event)][:10]
    said = sentences(events)
    return [(event, said[event.pk]) for event in events]


def _purged_nothing(event: AuditEvent) -> bool:
    removed = (event.details or {}).get("removed", {})
    return event.action == AuditEvent.Action.RETENTION_PURGE and not any(removed.values())
