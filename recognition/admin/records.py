"""Records nobody edits through the application: verifications and the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from recognition.admin.activity import sentences
from recognition.admin.common import AuditedViews, ReadOnlyAdmin
from recognition.audit import ACCESS_KEY, API_TOKEN
from recognition.models import AuditEvent, AuditEventQuerySet, Verification


@admin.register(Verification)
class VerificationAdmin(AuditedViews, ReadOnlyAdmin):
    """A record of each check: erasure redacts it through its service; nothing changes or deletes it here."""

    list_action = AuditEvent.Action.VERIFICATION_LIST
    list_display = ["created_at", "external_id", "person", "outcome_badge", "similarity", "requested_by"]
    list_filter = ["outcome", "match", "created_at"]
    search_fields = ["external_id", "person__name"]
    list_select_related = ["person", "requested_by"]
    date_hierarchy = "created_at"

    @admin.display(description="Outcome", ordering="outcome")
    def outcome_badge(self, verification: Verification) -> SafeString:
        return format_html(
            '<span class="status-badge {}">{}</span>', verification.outcome, verification.get_outcome_display()
        )


class ActorFilter(admin.SimpleListFilter):
    title = "who"
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = AuditEvent.objects.order_by("actor_name").values_list("actor_name", flat=True).distinct()
        return [(name or "-", name or "Facesite itself") for name in names[:100]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(actor_name="" if value == "-" else value)


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(AuditEventQuerySet.KINDS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        kind = self.value()
        return queryset.of_kind(kind) if kind in AuditEventQuerySet.KINDS else queryset  # type: ignore[attr-defined]


class CredentialFilter(admin.SimpleListFilter):
    """What was done by scripts (with an API token or a Rekognition access key), or in the admin and by
    Facesite itself (with neither)."""

    title = "credential"
    parameter_name = "credential"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("token", "An API token"), ("key", "A Rekognition access key"),
                ("none", "Neither: the admin, commands, tasks")]  # fmt: skip

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        if self.value() == "token":
            return queryset.filter(details__credential=API_TOKEN)
        if self.value() == "key":
            return queryset.filter(details__credential__startswith=f"{ACCESS_KEY} ")
        if self.value() == "none":
            return queryset.exclude(details__has_key="credential")
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: nobody edits or deletes the audit trail through the application."""

    list_display = ["when", "what", "action", "client_ip"]
    list_filter = [KindFilter, ActorFilter, CredentialFilter, "action", "object_type", "created_at"]
    search_fields = ["actor_name", "object_id", "action"]
    date_hierarchy = "created_at"
    list_per_page = 100

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return super().changelist_view(request, {"title": "Audit trail", **(extra_context or {})})

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        # The page's objects named in one query per kind, kept on the page's rows (this admin is shared).
        for event, sentence in zip(changelist.result_list, sentences(changelist.result_list).values(), strict=True):
            event.sentence = sentence
        return changelist

    @admin.display(description="When", ordering="created_at")
    def when(self, event: AuditEvent) -> str:
        text = f"{timezone.localtime(event.created_at):%Y-%m-%d %H:%M:%S}"
        if event.repeats > 1 and event.last_at:
            text += f" … {timezone.localtime(event.last_at):%H:%M:%S}"
        return text

    @admin.display(description="What")
    def what(self, event: AuditEvent) -> SafeString:
        return getattr(event, "sentence", None) or sentences([event])[event.pk]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}
