"""Subject access exports made in the background: who asked, whether the zip is ready, and its download."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from recognition.admin.common import DeletedOneByOne
from recognition.audit import request_ip
from recognition.exceptions import FacesiteError
from recognition.models import Person, PersonExport
from recognition.services.exports import export_delete, export_expired, export_expires_at, export_open
from recognition.services.subject_access import EXPORT, ZIP, export_filename


@admin.register(PersonExport)
class PersonExportAdmin(DeletedOneByOne, admin.ModelAdmin):
    list_display = ["asked", "person_link", "status_badge", "requested_by", "size_shown", "expires", "download"]
    list_display_links = ["asked"]
    list_filter = ["status", "created_at"]
    search_fields = ["person__name", "person__external_id"]
    fields = ["person", "status", "requested_by", "created_at", "finished_at", "size", "error"]

    # Only those allowed to export people's data see the exports; nobody edits one.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(EXPORT)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(EXPORT)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(EXPORT)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # asked for from the people list's export action

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[PersonExport]:
        return super().get_queryset(request).select_related("person", "requested_by")

    @admin.display(description="Asked for", ordering="created_at")
    def asked(self, export: PersonExport) -> str:
        return f"{timezone.localtime(export.created_at):%Y-%m-%d %H:%M}"

    @admin.display(description="Person", ordering="person__name")
    def person_link(self, export: PersonExport) -> SafeString:
        url = reverse("admin:recognition_person_change", args=[export.person_id])
        return format_html('<a href="{}">{}</a>', url, export.person)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, export: PersonExport) -> SafeString:
        badge = format_html('<span class="status-badge {}">{}</span>', export.status, export.get_status_display())
        return format_html("{} {}", badge, export.error) if export.error else badge

    @admin.display(description="Size", ordering="size")
    def size_shown(self, export: PersonExport) -> str:
        return filesizeformat(export.size) if export.size is not None else "–"

    @admin.display(description="Expires")
    def expires(self, export: PersonExport) -> str:
        return (
            "expired" if export_expired(export) else f"{timezone.localtime(export_expires_at(export)):%Y-%m-%d %H:%M}"
        )

    @admin.display(description="Download")
    def download(self, export: PersonExport) -> SafeString | str:
        return download_link(export) or "–"

    def get_urls(self) -> list[URLPattern]:
        download = self.admin_site.admin_view(self.download_view)
        return [path("<uuid:export_id>/download/", download, name="recognition_personexport_download"),
                *super().get_urls()]  # fmt: skip

    def download_view(self, request: HttpRequest, export_id: UUID) -> HttpResponseBase:
        if not self.has_view_permission(request):
            raise PermissionDenied
        export = get_object_or_404(PersonExport.objects.select_related("person"), pk=export_id)
        try:
            archive = export_open(export=export, actor=request.user, client_ip=request_ip(request))
        except FacesiteError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return redirect("admin:recognition_personexport_changelist")
        return FileResponse(archive, as_attachment=True, filename=export_filename(export.person), content_type=ZIP)

    def delete_model(self, request: HttpRequest, obj: PersonExport) -> None:
        export_delete(export=obj)


def download_link(export: PersonExport) -> SafeString | None:
    """A link to the export's zip, while it is ready and not expired."""
    if export.status != PersonExport.Status.READY or export_expired(export):
        return None
    url = reverse("admin:recognition_personexport_download", args=[export.pk])
    return format_html('<a href="{}">{}</a>', url, export_filename(export.person))


def exports_of(person: Person) -> SafeString | str:
    """The person's exports, latest first, for their page: when asked for, in what state, the download."""
    exports = list(person.exports.select_related("person")[:5])
    if not exports:
        return "None asked for: the people list's action Export their data makes one."
    return format_html_join(
        mark_safe("<br>"), "{} {} {}",
        ((f"{timezone.localtime(e.created_at):%Y-%m-%d %H:%M}", e.get_status_display().lower(),
          download_link(e) or e.error) for e in exports),
    )  # fmt: skip
