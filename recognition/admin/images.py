"""Images in the back office: list with thumbnails and filters, the page with boxes drawn, and actions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from recognition.admin.common import (
    AuditedViews,
    DeletedOneByOne,
    ReadOnlyInline,
    face_img,
    jpeg_response,
    thumbnail_url,
)
from recognition.admin.preview import image_preview
from recognition.admin.upload import upload_view
from recognition.audit import audit_request, request_ip
from recognition.models import AuditEvent, Face, Image, Label, ModerationLabel, Person, TextDetection
from recognition.services import thumbnails
from recognition.services.analysis import image_reanalyse
from recognition.services.attribute_words import attributes_in_words
from recognition.services.erasure import image_delete
from recognition.services.review import face_flag_for_review


class LabelInline(ReadOnlyInline):
    model = Label
    fields = readonly_fields = ("name", "confidence", "parent_chips", "category_chips")

    @admin.display(description="Parents")
    def parent_chips(self, label: Label) -> SafeString:
        return chips(label.parents)

    @admin.display(description="Categories")
    def category_chips(self, label: Label) -> SafeString:
        return chips(label.categories)


def chips(values: list[str]) -> SafeString:
    return format_html_join("", '<span class="chip">{}</span>', ((v,) for v in values)) or mark_safe("–")


class FaceInline(ReadOnlyInline):
    model = Face
    fk_name = "image"
    fields = readonly_fields = (
        "crop",
        "confidence",
        "who",
        "candidate",
        "similarity",
        "review_state",
        "attributes_summary",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Face]:
        return super().get_queryset(request).select_related("person", "candidate")

    @admin.display(description="Face")
    def crop(self, face: Face) -> SafeString:
        return face_img(face.pk)

    @admin.display(description="Person")
    def who(self, face: Face) -> SafeString:
        change = reverse("admin:recognition_faceforreview_change", args=[face.pk])
        if face.person is not None:
            return format_html('<a href="{}">{}</a>', change, face.person)
        # Unknown: say who it is (and, with the enrol permission, make it a reference face of theirs).
        return format_html('<a class="button" href="{}">This is…</a>', change)

    @admin.display(description="Attributes")
    def attributes_summary(self, face: Face) -> str:
        words = attributes_in_words(face.attributes or {})
        parts = [f"age {words['age']}" if "age" in words else "", words.get("gender", ""), words.get("expression", "")]
        return "; ".join(part for part in parts if part) or "–"


class TextInline(ReadOnlyInline):
    model = TextDetection
    fields = readonly_fields = ("type", "text", "confidence")


class ModerationInline(ReadOnlyInline):
    model = ModerationLabel
    fields = readonly_fields = ("name", "parent_name", "confidence")


class NeedsReviewFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("needed", "Needs review"), ("identified", "Someone identified")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Image]) -> QuerySet[Image]:
        if self.value() == "needed":
            return queryset.filter(faces__review_state=Face.Review.NEEDS_REVIEW).distinct()
        if self.value() == "identified":
            return queryset.filter(faces__person__isnull=False, faces__is_reference=False).distinct()
        return queryset


class LabelFilter(admin.SimpleListFilter):
    title = "label"
    parameter_name = "label"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = Label.objects.values("name").annotate(n=Count("id")).order_by("-n").values_list("name", flat=True)
        return [(name, name) for name in names[:25]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Image]) -> QuerySet[Image]:
        if self.value():
            return queryset.filter(labels__name=self.value()).distinct()
        return queryset


class PersonSeenFilter(admin.SimpleListFilter):
    title = "person"
    parameter_name = "person"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        people = Person.objects.filter(faces__is_reference=False).distinct().order_by("name")[:50]
        return [(str(p.pk), str(p)) for p in people]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Image]) -> QuerySet[Image]:
        person_id = self.value()
        if person_id:
            return queryset.filter(faces__person_id=person_id, faces__is_reference=False).distinct()
        return queryset


@admin.register(Image)
class ImageAdmin(AuditedViews, DeletedOneByOne, admin.ModelAdmin):
    view_action = AuditEvent.Action.IMAGE_VIEW
    list_action = AuditEvent.Action.IMAGE_LIST
    list_display = ["thumb", "name", "status_badge", "labels_summary", "face_count", "people", "created_at"]
    list_display_links = ["thumb", "name"]
    list_filter = ["status", NeedsReviewFilter, LabelFilter, PersonSeenFilter, "source", "collection", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["sha256", "original_filename", "labels__name", "faces__person__name", "faces__person__external_id"]
    list_select_related = ["collection"]
    list_per_page = 50
    readonly_fields = [
        "status_badge", "error", "sha256", "size", "dimensions", "content_type", "original_filename",
        "source", "source_url", "collection", "feature_chips", "attempts", "engine", "model_version", "uploaded_by",
        "created_at", "analysed_at",
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["status_badge", "error"]}),
        ("File", {"fields": ["original_filename", "content_type", "dimensions", "size", "sha256"]}),
        ("Analysis", {"fields": ["source", "source_url", "collection", "feature_chips", "engine", "model_version",
                                 "attempts", "uploaded_by", "created_at", "analysed_at"]}),
    ]  # fmt: skip
    change_form_template = "recognition/admin/image_change_form.html"
    inlines = [LabelInline, FaceInline, TextInline, ModerationInline]
    actions = ["reanalyse", "send_to_review"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Image]:
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name == "recognition_image_changelist":
            queryset = queryset.annotate(
                face_total=Count("faces", filter=Q(faces__is_reference=False), distinct=True)
            ).prefetch_related(
                Prefetch("labels", queryset=Label.objects.order_by("-confidence")),
                Prefetch("faces", queryset=Face.objects.filter(person__isnull=False).select_related("person")),
            )
        return queryset

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("recognition.add_image")

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> Any:
        if not self.has_add_permission(request):
            raise PermissionDenied
        return upload_view(self, request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Nothing on the page is editable; "change" here means running actions such as re-analysis.
        return request.user.has_perm("recognition.change_image")

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("recognition.change_face")

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        image = self.get_object(request, object_id)
        context = {
            **(extra_context or {}),
            "show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False,
            "show_delete_link": False,
        }  # fmt: skip
        if image is not None:
            context.update(
                title="Image",  # the file's name is the subtitle: shown once, under it
                viewer=self.preview(image),
                can_reanalyse=self.has_change_permission(request, image),
                can_review=self.has_review_permission(request),
                can_delete=self.has_delete_permission(request, image),
            )
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<uuid:image_id>/reanalyse/",
                self.admin_site.admin_view(self.reanalyse_view),
                name="recognition_image_reanalyse",
            ),
            path(
                "<uuid:image_id>/send-to-review/",
                self.admin_site.admin_view(self.send_to_review_view),
                name="recognition_image_send_to_review",
            ),
            path(
                "<uuid:image_id>/thumbnail/<int:size>/",
                self.admin_site.admin_view(self.thumbnail_view),
                name="recognition_image_thumbnail",
            ),
            path(
                "face/<uuid:face_id>/crop/",
                self.admin_site.admin_view(self.face_crop_view),
                name="recognition_image_face_crop",
            ),
            *super().get_urls(),
        ]

    def reanalyse_view(self, request: HttpRequest, image_id: UUID) -> HttpResponse:
        image = self._acting_on(request, image_id, allowed=self.has_change_permission(request))
        self.reanalyse(request, Image.objects.filter(pk=image.pk))
        return redirect("admin:recognition_image_change", image.pk)

    def send_to_review_view(self, request: HttpRequest, image_id: UUID) -> HttpResponse:
        image = self._acting_on(request, image_id, allowed=self.has_review_permission(request))
        self.send_to_review(request, Image.objects.filter(pk=image.pk))
        return redirect("admin:recognition_image_change", image.pk)

    def _acting_on(self, request: HttpRequest, image_id: UUID, *, allowed: bool) -> Image:
        if request.method != "POST":
            raise PermissionDenied("Use the button on the image's page.")
        if not allowed:
            raise PermissionDenied
        return get_object_or_404(Image, pk=image_id)

    def thumbnail_view(self, request: HttpRequest, image_id: UUID, size: int) -> HttpResponse:
        if size not in thumbnails.THUMBNAIL_SIZES:
            raise Http404
        image = get_object_or_404(Image, pk=image_id)
        if not self.has_view_permission(request, image) or not image.file:
            raise PermissionDenied if image.file else Http404
        audit_request(request, AuditEvent.Action.IMAGE_THUMBNAIL, image, size=size)
        return jpeg_response(lambda: thumbnails.image_thumbnail(image, size=size))

    def face_crop_view(self, request: HttpRequest, face_id: UUID) -> HttpResponse:
        face = get_object_or_404(Face.objects.select_related("image"), pk=face_id)
        if not request.user.has_perm("recognition.view_face"):
            raise PermissionDenied
        audit_request(request, AuditEvent.Action.FACE_CROP, face)
        return jpeg_response(lambda: thumbnails.face_crop(face))

    @admin.display(description="")
    def thumb(self, image: Image) -> str:
        if not image.file:
            return "–"
        return format_html('<img src="{}" height="48" loading="lazy" alt="">', thumbnail_url(image.pk))

    @admin.display(description="Image", ordering="original_filename")
    def name(self, image: Image) -> str:
        return image.original_filename or str(image.pk)[:8]

    @admin.display(description="Labels")
    def labels_summary(self, image: Image) -> str:
        return ", ".join(label.name for label in list(image.labels.all())[:4]) or "–"

    @admin.display(description="Faces", ordering="face_total")
    def face_count(self, image: Image) -> int:
        return image.face_total  # type: ignore[attr-defined]  # annotated in get_queryset

    @admin.display(description="People")
    def people(self, image: Image) -> str:
        """Who was seen in it, and whose reference photo it is (its faces are not counted as seen)."""
        names = sorted({f"{face.person.name} (reference)" if face.is_reference else face.person.name
                        for face in image.faces.all() if face.person})  # fmt: skip
        return ", ".join(names) or "–"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, image: Image) -> SafeString:
        return format_html('<span class="status-badge {}">{}</span>', image.status, image.get_status_display())

    @admin.display(description="Size", ordering="size_bytes")
    def size(self, image: Image) -> str:
        return filesizeformat(image.size_bytes) if image.size_bytes else "–"

    @admin.display(description="Dimensions")
    def dimensions(self, image: Image) -> str:
        return f"{image.width} × {image.height} px" if image.width else "–"

    @admin.display(description="Features")
    def feature_chips(self, image: Image) -> SafeString:
        return chips(image.features)

    def preview(self, image: Image) -> str:
        if not image.file or not image.width:
            return "No image stored yet."
        return image_preview(image)

    @admin.action(description="Re-run analysis of selected images", permissions=["change"])
    def reanalyse(self, request: HttpRequest, queryset: QuerySet[Image]) -> None:
        queued = sum(
            image_reanalyse(image=image, actor=request.user, client_ip=request_ip(request)) for image in queryset
        )
        self.message_user(request, f"{queued} image(s) queued for analysis; the others are already queued or running.")

    @admin.action(description="Send the faces of selected images to the review queue", permissions=["review"])
    def send_to_review(self, request: HttpRequest, queryset: QuerySet[Image]) -> None:
        faces = Face.objects.sightings().filter(image__in=queryset)
        for face in faces:
            face_flag_for_review(face=face, actor=request.user, client_ip=request_ip(request))
        self.message_user(request, f"{len(faces)} face(s) sent to the review queue.")

    def delete_model(self, request: HttpRequest, obj: Image) -> None:
        image_delete(image=obj, actor=request.user, client_ip=request_ip(request))
