from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.timezone import localtime

from integrations.models import Delivery, DeliveryAttempt, Endpoint, Event, endpoint_host_missing
from integrations.services.endpoints import (
    OLD_SECRET_SIGNS_FOR,
    SecretChange,
    endpoint_delete,
    endpoint_old_secret_end,
    endpoint_save,
    endpoint_test,
)
from integrations.services.upkeep import deliveries_replay
from recognition.admin.activity import Kind, name_objects
from recognition.admin.common import AuditedViews, DeletedOneByOne, ReadOnlyInline
from recognition.admin.images import ImageAdmin
from recognition.audit import request_ip
from recognition.models import AuditEvent, Image

name_objects("endpoint", Kind(Endpoint, str, "admin:integrations_endpoint_change"))
name_objects("delivery", Kind(Delivery, lambda d: f"a delivery to {d.endpoint}", "admin:integrations_delivery_change",
                              ("endpoint",)))  # fmt: skip


TESTS_AT_ONCE = 5  # test events sent while the admin's page waits: each may take its endpoint's whole timeout


class EndpointForm(forms.ModelForm):
    """The endpoint without its secret, which can only be replaced: generated (and shown once) or set."""

    url = forms.URLField(label="URL", max_length=500, assume_scheme="https", help_text="Where events are POSTed.")
    secret_change = forms.ChoiceField(
        label="Signing secret", choices=SecretChange.choices, initial=SecretChange.KEEP, widget=forms.RadioSelect
    )
    events = forms.MultipleChoiceField(
        choices=Event.choices, widget=forms.CheckboxSelectMultiple, help_text="What this endpoint is told about."
    )
    old_secret_signs_for = forms.TypedChoiceField(
        label="The old secret signs too for", choices=list(OLD_SECRET_SIGNS_FOR.items()), coerce=int,
        required=False, empty_value=None, initial=0,
        help_text="Only with a new secret: each delivery carries a signature by each secret meanwhile, so the "
                  "receiver can take the new one without refusing deliveries.",
    )  # fmt: skip
    given_secret = forms.CharField(
        label="Secret to set",
        required=False,
        strip=False,
        min_length=16,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Only with \u201cset\u201d: at least 16 characters.",
    )

    class Meta:
        model = Endpoint
        fields = ["name", "url", "enabled", "events", "only_identified", "collection", "timeout_seconds"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance._state.adding:
            field = self.fields["secret_change"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [c for c in SecretChange.choices if c[0] != SecretChange.KEEP]
            field.initial = SecretChange.GENERATE
            del self.fields["old_secret_signs_for"]  # no old secret yet

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("secret_change") == SecretChange.SET and not data.get("given_secret"):
            self.add_error("given_secret", "Type the secret to set, or choose to generate one.")
        return data


@admin.register(Endpoint)
class EndpointAdmin(DeletedOneByOne, admin.ModelAdmin):
    form = EndpointForm
    list_display = ["name", "url", "enabled", "told_of", "only_identified", "collection", "timeout_seconds"]
    list_filter = ["enabled", "only_identified"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret_status"]
    actions = ["send_test_event", "end_old_secret"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [*EndpointForm.Meta.fields, "secret_status"]
        if self.has_change_permission(request, obj) or obj is None:
            fields += ["secret_change", "given_secret"] + (["old_secret_signs_for"] if obj is not None else [])
        return fields

    @admin.display(description="Events")
    def told_of(self, endpoint: Endpoint) -> str:
        labels = dict(Event.choices)
        return ", ".join(str(labels.get(event, event)) for event in endpoint.events)

    @admin.display(description="Secret")
    def secret_status(self, endpoint: Endpoint) -> str:
        if not endpoint.secret_encrypted:
            return "Not set yet."
        status = f"Set {localtime(endpoint.secret_changed_at):%Y-%m-%d %H:%M}; stored encrypted, never shown again."
        if endpoint.previous_secret_signs and endpoint.previous_secret_until:
            status += (
                f" The secret it replaced signs too until {localtime(endpoint.previous_secret_until):%Y-%m-%d %H:%M}."
            )
        return status

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        request._endpoint_secret = endpoint_save(  # type: ignore[attr-defined]
            endpoint=obj,
            changed=[f for f in form.changed_data if f in EndpointForm.Meta.fields],
            secret=form.cleaned_data["secret_change"],
            given_secret=form.cleaned_data.get("given_secret") or "",
            old_secret_signs_for=timedelta(hours=form.cleaned_data.get("old_secret_signs_for") or 0),
            actor=request.user,
            client_ip=request_ip(request),
        )
        if "url" in form.changed_data and (missing := endpoint_host_missing(obj.url)):
            self.message_user(request, f"{missing} Deliveries to {obj.name} fail, and are tried again, until it "
                                       "resolves: check the URL.", messages.WARNING)  # fmt: skip

    def delete_model(self, request: HttpRequest, obj: Endpoint) -> None:
        endpoint_delete(endpoint=obj, actor=request.user, client_ip=request_ip(request))

    @admin.action(description="Stop the replaced secret signing (the receiver has the new one)", permissions=["change"])
    def end_old_secret(self, request: HttpRequest, endpoints: Any) -> None:
        ended = [str(e) for e in endpoints if endpoint_old_secret_end(endpoint=e, actor=request.user,
                                                                      client_ip=request_ip(request))]  # fmt: skip
        if ended:
            self.message_user(request, f"Deliveries to {', '.join(ended)} are signed with the new secret alone now.",
                              messages.SUCCESS)  # fmt: skip
        else:
            self.message_user(request, "No replaced secret was still signing for them.", messages.WARNING)

    @admin.action(description="Send a test event (now, signed, once)", permissions=["change"])
    def send_test_event(self, request: HttpRequest, endpoints: Any) -> None:
        for endpoint in endpoints[:TESTS_AT_ONCE]:
            tried = endpoint_test(endpoint=endpoint, actor=request.user, client_ip=request_ip(request))
            outcome = tried.outcome
            if tried.accepted:
                self.message_user(request, f"{endpoint} accepted the test event: HTTP {outcome.status_code} in "
                                  f"{tried.seconds * 1000:.0f} ms.", messages.SUCCESS)  # fmt: skip
                continue
            answer = f" Its answer began: {outcome.excerpt[:300]}" if outcome.excerpt.strip() else ""
            self.message_user(request, f"{endpoint} did not accept the test event: {outcome.error}{answer}",
                              messages.ERROR)  # fmt: skip
        if len(endpoints) > TESTS_AT_ONCE:
            self.message_user(request, f"Only the first {TESTS_AT_ONCE} were tried: each may take its whole "
                              "timeout while you wait.", messages.WARNING)  # fmt: skip

    def response_add(self, request: HttpRequest, obj: Endpoint, post_url_continue: str | None = None) -> Any:
        return self._show_secret_once(request, obj) or super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Endpoint) -> Any:
        return self._show_secret_once(request, obj) or super().response_change(request, obj)

    def _show_secret_once(self, request: HttpRequest, endpoint: Endpoint) -> TemplateResponse | None:
        secret = getattr(request, "_endpoint_secret", None)
        if not secret:
            return None
        # Admin views are never cached (no-store), so the page is not kept by the browser either.
        context = {**self.admin_site.each_context(request), "endpoint": endpoint, "secret": secret}
        return TemplateResponse(request, "integrations/admin/endpoint_secret.html", context)


#: What receivers answered can carry anything (their own data, internal details): shown only to
#: those who look after deliveries (who may resend them), not to Reviewers.
EXCERPTS = {"last_response_excerpt", "response_excerpt"}


def may_read_excerpts(request: HttpRequest) -> bool:
    return request.user.has_perm("integrations.resend_delivery")


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    attempt_fields = ("number", "started_at", "finished_at", "outcome", "status_code", "error", "response_excerpt",
                      "replay")  # fmt: skip

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f for f in self.attempt_fields if may_read_excerpts(request) or f not in EXCERPTS]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)


@admin.register(Delivery)
class DeliveryAdmin(AuditedViews, admin.ModelAdmin):
    view_action = AuditEvent.Action.DELIVERY_VIEW
    list_action = AuditEvent.Action.DELIVERY_LIST
    list_display = ["created_at", "event", "endpoint", "image", "status", "attempts", "last_status_code", "last_error"]
    list_filter = ["status", "event", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["idempotency_key", "image__id"]
    raw_id_fields = ["image"]
    inlines = [DeliveryAttemptInline]
    actions = ["resend"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f for f in (f.name for f in Delivery._meta.fields) if may_read_excerpts(request) or f not in EXCERPTS]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_readonly_fields(request, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("integrations.resend_delivery")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "GET" and not Endpoint.objects.filter(enabled=True).exists():
            add = reverse("admin:integrations_endpoint_add")
            self.message_user(request, format_html(  # why the list stays empty, where an operator looks for them
                'No endpoint is enabled, so nothing is delivered: <a href="{}">add an endpoint</a> to be told '
                "of analysed images, identified people and badge checks in XML.", add), messages.INFO)  # fmt: skip
        return super().changelist_view(request, extra_context)

    @admin.action(description="Resend selected deliveries (same idempotency key)", permissions=["change"])
    def resend(self, request, queryset):
        queued = deliveries_replay(deliveries=queryset, actor=request.user, client_ip=request_ip(request))
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
    queued = deliveries_replay(
        deliveries=Delivery.objects.filter(image__in=queryset), actor=request.user, client_ip=request_ip(request)
    )
    modeladmin.message_user(request, f"{queued} deliveries queued to be sent again.", messages.SUCCESS)


class ImageWithDeliveriesAdmin(ImageAdmin):
    """The image page of the recognition admin, with the image's deliveries and a resend action."""

    inlines = [*ImageAdmin.inlines, ImageDeliveryInline]
    actions = [*ImageAdmin.actions, resend_image_deliveries]


# Recognition knows nothing of deliveries; integrations extends its image page by re-registering it.
admin.site.unregister(Image)
admin.site.register(Image, ImageWithDeliveriesAdmin)
