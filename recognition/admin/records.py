"""Records nobody edits through the application: verifications and the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from recognition.admin.common import AuditedViews
from recognition.models import AuditEvent, Verification


@admin.register(Verification)
class VerificationAdmin(AuditedViews, admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a record of a check; erasure redacts it through its service, nothing deletes it here


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: nobody edits or deletes the audit trail through the application."""

    list_display = ["created_at", "actor_name", "action", "object_type", "object_id", "client_ip", "details"]
    list_filter = ["action", "object_type", "created_at"]
    search_fields = ["actor_name", "object_id", "action"]
    date_hierarchy = "created_at"

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
