from django.contrib import admin, messages

from integrations import services
from integrations.models import Delivery, DeliveryAttempt, Endpoint
from recognition.admin.common import ReadOnlyInline
from recognition.admin.images import ImageAdmin
from recognition.models import Image


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "enabled", "events", "only_identified", "collection", "timeout_seconds"]
    list_filter = ["enabled", "only_identified"]
    search_fields = ["name", "url"]


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = readonly_fields = (
        "number",
        "started_at",
        "finished_at",
        "outcome",
        "status_code",
        "error",
        "response_excerpt",
        "replay",
    )


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

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("integrations.resend_delivery")

    @admin.action(description="Resend selected deliveries (same idempotency key)", permissions=["change"])
    def resend(self, request, queryset):
        queued = services.deliveries_replay(deliveries=queryset)
        skipped = queryset.count() - queued
        self.message_user(request, f"{queued} deliveries queued to be sent again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} skipped: only delivered or dead deliveries can be resent.", messages.WARNING
            )


class ImageDeliveryInline(ReadOnlyInline):
    """Delivery history on the image page of the recognition admin."""

    model = Delivery
    fields = readonly_fields = (
        "endpoint",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "delivered_at",
    )
    verbose_name_plural = "deliveries to third parties"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("endpoint")


@admin.action(description="Resend the deliveries of selected images")
def resend_image_deliveries(modeladmin, request, queryset):
    if not request.user.has_perm("integrations.resend_delivery"):
        modeladmin.message_user(request, "You may not resend deliveries.", messages.ERROR)
        return
    queued = services.deliveries_replay(deliveries=Delivery.objects.filter(image__in=queryset))
    modeladmin.message_user(request, f"{queued} deliveries queued to be sent again.", messages.SUCCESS)


class ImageWithDeliveriesAdmin(ImageAdmin):
    """The image page of the recognition admin, with the image's deliveries and a resend action."""

    inlines = [*ImageAdmin.inlines, ImageDeliveryInline]
    actions = [*ImageAdmin.actions, resend_image_deliveries]


# Recognition knows nothing of deliveries; integrations extends its image page by re-registering it.
admin.site.unregister(Image)
admin.site.register(Image, ImageWithDeliveriesAdmin)
