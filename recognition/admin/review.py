"""The review queue: faces whose best match fell just below the threshold, beside the candidate's reference."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from recognition.admin.common import AuditedViews, face_img, thumbnail_url
from recognition.audit import request_ip
from recognition.exceptions import FacesiteError
from recognition.models import AuditEvent, Face, FaceForReview
from recognition.services.access import ENROL
from recognition.services.review import face_review_confirm, face_review_reject


class ReviewForm(forms.ModelForm):
    add_as_reference = forms.BooleanField(
        required=False, help_text="Also enrol this face as a new reference face of the person."
    )

    class Meta:
        model = FaceForReview
        fields = ["person"]
        help_texts = {"person": "Who this is. Saving confirms it (or reassigns it to someone else)."}


class ReviewStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"
    STATES = {"open": Face.Review.NEEDS_REVIEW, "confirmed": Face.Review.CONFIRMED, "rejected": Face.Review.REJECTED}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "To review"), ("confirmed", "Confirmed"), ("rejected", "Rejected")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Face]) -> QuerySet[Face]:
        return queryset.filter(review_state=self.STATES[self.value() or "open"])

    def choices(self, changelist: ChangeList) -> Iterator[Any]:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or "open") == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


@admin.register(FaceForReview)
class ReviewQueueAdmin(AuditedViews, admin.ModelAdmin):
    view_action = AuditEvent.Action.FACE_VIEW
    list_action = AuditEvent.Action.FACE_LIST
    form = ReviewForm
    list_display = ["face", "in_photo", "candidate_reference", "similarity_display", "candidate", "decide"]
    list_display_links = None  # decisions are the buttons; "Assign" opens the face
    list_filter = [ReviewStateFilter, "image__collection"]
    list_select_related = ["candidate", "person", "image", "reviewed_by"]
    autocomplete_fields = ["person"]
    readonly_fields = ["face", "candidate_reference", "candidate", "similarity_display", "image_link", "review_state"]
    fields = [
        "face", "candidate_reference", "candidate", "similarity_display", "image_link", "review_state", "person",
        "add_as_reference",
    ]  # fmt: skip
    actions = ["confirm", "confirm_and_enrol", "reject"]
    ordering = ["-similarity"]

    change_list_template = "recognition/admin/review_change_list.html"  # with the keyboard's help under the title

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return super().changelist_view(request, {"title": "Faces to review", **(extra_context or {})})

    class Media:
        js = ["recognition/admin/review.js"]

    def get_urls(self) -> list[URLPattern]:
        return [
            path("<uuid:face_id>/decide/<str:decision>/", self.admin_site.admin_view(self.decide_view),
                 name="recognition_faceforreview_decide"),
            *super().get_urls(),
        ]  # fmt: skip

    def decide_view(self, request: HttpRequest, face_id: UUID, decision: str) -> HttpResponse:
        """One button: confirm the candidate or reject them, then back to the queue, where the next face is."""
        face = get_object_or_404(self.get_queryset(request), pk=face_id)
        if request.method != "POST" or decision not in ("confirm", "reject"):
            raise PermissionDenied("Use the buttons of the review queue.")
        if not self.has_change_permission(request, face):
            raise PermissionDenied
        queryset = self.get_queryset(request).filter(pk=face.pk)
        if decision == "confirm":
            self._confirm(request, queryset, add_reference=False)
        else:
            self.reject(request, queryset)
        return redirect(request.POST.get("next") or reverse("admin:recognition_faceforreview_changelist"))

    @admin.display(description="Decision")
    def decide(self, face: Face) -> SafeString:
        if face.review_state != Face.Review.NEEDS_REVIEW:
            return format_html("{}", face.get_review_state_display())
        buttons = []
        if face.candidate_id:
            buttons.append(self._decision_button(face, "confirm", f"Confirm: {face.candidate}"))
            buttons.append(self._decision_button(face, "reject", "Reject"))
        change = reverse("admin:recognition_faceforreview_change", args=[face.pk])
        buttons.append(format_html('<a class="button" data-review="assign" href="{}">Assign…</a>', change))
        return format_html('<div class="review-buttons">{}</div>', format_html_join("", "{}", ((b,) for b in buttons)))

    @staticmethod
    def _decision_button(face: Face, decision: str, text: str) -> SafeString:
        # Inside the changelist's own form (which carries the CSRF token), posting to this face's decision.
        url = reverse("admin:recognition_faceforreview_decide", args=[face.pk, decision])
        css = "button default" if decision == "confirm" else "button"
        return format_html(
            '<button type="submit" formaction="{}" class="{}" data-review="{}">{}</button>', url, css, decision, text
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Face]:
        references = Prefetch(
            "candidate__faces",
            queryset=Face.objects.references().order_by("created_at"),
            to_attr="reference_faces",
        )
        return super().get_queryset(request).filter(is_reference=False).prefetch_related(references)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_enrol_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ENROL)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_fields(request, obj)
        return fields if self.has_enrol_permission(request) else [f for f in fields if f != "add_as_reference"]

    @admin.display(description="Face")
    def face(self, face: Face) -> SafeString:
        return face_img(face.pk, size=96)

    @admin.display(description="In its photo")
    def in_photo(self, face: Face) -> SafeString:
        """The whole picture, small, with this face's box drawn: who else is there, where it was taken."""
        image = face.image
        if not image.file or not image.width or not image.height:
            return self.image_link(face)
        left, top, right, bottom = face.bounding_box.to_pixels(image.width, image.height)
        return format_html(
            '<a href="{}" title="{}"><svg class="face-in-photo" viewBox="0 0 {} {}" width="160" '
            'xmlns="http://www.w3.org/2000/svg"><image href="{}" width="{}" height="{}"/>'
            '<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#f9a825" stroke-width="{}"/></svg>'
            "<br>{}</a>",
            reverse("admin:recognition_image_change", args=[image.pk]), image, image.width, image.height,
            thumbnail_url(image.pk), image.width, image.height, left, top, right - left, bottom - top,
            max(2, image.width // 100), image,
        )  # fmt: skip

    @admin.display(description="Candidate's reference")
    def candidate_reference(self, face: Face) -> str:
        references = getattr(face.candidate, "reference_faces", None) if face.candidate_id else None
        if not references:
            return "–"
        return face_img(references[0].pk, size=96, title=str(face.candidate))

    @admin.display(description="Similarity", ordering="similarity")
    def similarity_display(self, face: Face) -> str:
        return "–" if face.similarity is None else f"{face.similarity:.1f}"

    @admin.display(description="Image")
    def image_link(self, face: Face) -> SafeString:
        url = reverse("admin:recognition_image_change", args=[face.image_id])
        return format_html('<a href="{}">{}</a>', url, face.image.original_filename or str(face.image_id)[:8])

    def save_model(self, request: HttpRequest, obj: Face, form: forms.ModelForm, change: bool) -> None:
        person = form.cleaned_data.get("person")
        try:
            if person is None:
                face_review_reject(face=obj, reviewer=request.user, client_ip=request_ip(request))
            else:
                face_review_confirm(
                    face=obj,
                    reviewer=request.user,
                    person=person,
                    add_reference=form.cleaned_data.get("add_as_reference", False),
                    client_ip=request_ip(request),
                )
        except FacesiteError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    def _confirm(self, request: HttpRequest, queryset: QuerySet[Face], *, add_reference: bool) -> None:
        done, refused = 0, []
        for face in queryset.select_related("candidate", "image__collection"):
            try:
                face_review_confirm(
                    face=face, reviewer=request.user, add_reference=add_reference, client_ip=request_ip(request)
                )
                done += 1
            except FacesiteError as exc:
                refused.append(exc.message)
        self.message_user(request, f"{done} face(s) confirmed.")
        for reason, count in Counter(refused).items():
            self.message_user(request, f"{count} face(s) left as they were: {reason}", messages.WARNING)

    @admin.action(description="Confirm: it is the candidate", permissions=["change"])
    def confirm(self, request: HttpRequest, queryset: QuerySet[Face]) -> None:
        self._confirm(request, queryset, add_reference=False)

    @admin.action(description="Confirm and enrol as a new reference face", permissions=["change", "enrol"])
    def confirm_and_enrol(self, request: HttpRequest, queryset: QuerySet[Face]) -> None:
        self._confirm(request, queryset, add_reference=True)

    @admin.action(description="Reject: not this person", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Face]) -> None:
        for face in queryset:
            face_review_reject(face=face, reviewer=request.user, client_ip=request_ip(request))
        self.message_user(request, f"{queryset.count()} face(s) rejected.")
