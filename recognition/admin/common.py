"""What the back office's pages share: face crops and thumbnails, read-only inlines, audited views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from recognition.audit import audit_list, audit_request
from recognition.exceptions import FileMissing
from recognition.models import AuditEvent


def thumbnail_url(image_id: Any, size: int = 160) -> str:
    return reverse("admin:recognition_image_thumbnail", args=[image_id, size])


def face_crop_url(face_id: Any) -> str:
    return reverse("admin:recognition_image_face_crop", args=[face_id])


def face_img(face_id: Any, *, size: int = 56, title: str = "") -> SafeString:
    return format_html(
        '<img src="{}" width="{}" height="{}" alt="face" title="{}" loading="lazy" class="face-thumb">',
        face_crop_url(face_id),
        size,
        size,
        title,
    )


def jpeg_response(make: Callable[[], bytes]) -> HttpResponse:
    """The JPEG ``make`` renders from a stored file (a thumbnail, a face crop); 404 when that file is missing
    from storage."""
    try:
        data = make()
    except FileMissing as exc:
        raise Http404(exc.message) from exc
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


class AuditedViews:
    """Record who looked at biometric data through the admin (changes are recorded by the services):
    one event per page, for a change page (``view_action``) and for a list (``list_action``, with its
    filters and search, which say whom someone was looking for)."""

    view_action: AuditEvent.Action | None = None
    list_action: AuditEvent.Action | None = None

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        if self.list_action and response.status_code == 200:
            audit_list(request, self.list_action, via="admin")
        return response

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False,
        form_url: str = "", obj: Any = None,
    ) -> HttpResponse:  # fmt: skip
        # Called with the object Django already fetched and checked permissions for.
        if obj is not None and request.method == "GET" and self.view_action:
            audit_request(request, self.view_action, obj, via="admin")
        return super().render_change_form(request, context, add, change, form_url, obj)  # type: ignore[misc]


class DeletedOneByOne:
    """The list's delete action deletes each row with ``delete_model``, which calls the service that audits
    the deletion and cleans up after it, not with one bulk query that would skip both."""

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)  # type: ignore[attr-defined]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the back office only reads: made and removed elsewhere (through an API, or with what they belong to)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    classes = ["facesite-results"]  # rows without the object's name above each (facesite.css)
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
