from django.contrib import admin, messages

from integrations import services
from integrations.models import Delivery, DeliveryAttempt, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "enabled", "events", "only_identified", "collection", "timeout_seconds"]
    list_filter = ["enabled", "only_identified"]
    search_fields = ["name", "url"]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = [
        "number", "started_at", "finished_at", "outcome", "status_code", "error", "response_excerpt", "replay"
    ]  # fmt: skip

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "endpoint", "image", "status", "attempts", "last_status_code", "last_error"]
    list_filter = ["status", "event", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["idempotency_key", "image__id"]
    raw_id_fields = ["image"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Resend selected deliveries (same idempotency key)")
    def resend(self, request, queryset):
        queued = services.deliveries_replay(deliveries=queryset)
        skipped = queryset.count() - queued
        self.message_user(request, f"{queued} deliveries queued to be sent again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} skipped: only delivered or dead deliveries can be resent.", messages.WARNING
            )
