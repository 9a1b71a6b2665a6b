"""The back office: images with their boxes, the review queue, people, and the audit trail."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from recognition import services, thumbnails
from recognition.audit import audit_record, request_ip
from recognition.models import (
    AuditEvent,
    Collection,
    Face,
    FaceForReview,
    Image,
    Label,
    ModerationLabel,
    Person,
    TextDetection,
    Verification,
)
from recognition.validation import ImageRejected, inspect_image

#: Other apps add inlines and actions to the image page here (integrations adds deliveries),
#: so recognition never imports them.
IMAGE_ADMIN_EXTENSIONS: dict[str, list] = {"inlines": [], "actions": []}


def thumbnail_url(image_id, size: int = 160) -> str:
    return reverse("admin:recognition_image_thumbnail", args=[image_id, size])


def face_crop_url(face_id) -> str:
    return reverse("admin:recognition_image_face_crop", args=[face_id])


def face_img(face_id, *, size: int = 56, title: str = "") -> str:
    return format_html(
        '<img src="{}" width="{}" height="{}" alt="face" title="{}" loading="lazy" style="border-radius:4px">',
        face_crop_url(face_id),
        size,
        size,
        title,
    )


class AuditedViews:
    """Record who looked at or changed biometric data through the admin."""

    audit_object = ""

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # Called with the object Django already fetched and checked permissions for.
        if obj is not None and request.method == "GET" and self.audit_object:
            audit_record(
                actor=request.user,
                action=f"{self.audit_object}.view",
                target=obj,
                client_ip=request_ip(request),
                via="admin",
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


# --- Images -----------------------------------------------------------------------------------


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LabelInline(ReadOnlyInline):
    model = Label
    fields = readonly_fields = ["name", "confidence", "parents", "categories"]


class FaceInline(ReadOnlyInline):
    model = Face
    fk_name = "image"
    fields = readonly_fields = [
        "crop",
        "confidence",
        "person",
        "candidate",
        "similarity",
        "review_state",
        "attributes_summary",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("person", "candidate")

    @admin.display(description="Face")
    def crop(self, face):
        return face_img(face.pk)

    @admin.display(description="Attributes")
    def attributes_summary(self, face):
        a = face.attributes or {}
        parts = []
        if "AgeRange" in a:
            parts.append(f"age {a['AgeRange']['Low']}–{a['AgeRange']['High']}")
        if "Gender" in a:
            parts.append(f"{a['Gender']['Value'].lower()} ({a['Gender']['Confidence']:.0f}%)")
        if a.get("Emotions"):
            parts.append(a["Emotions"][0]["Type"].lower())
        return ", ".join(parts) or "–"


class TextInline(ReadOnlyInline):
    model = TextDetection
    fields = readonly_fields = ["type", "text", "confidence"]


class ModerationInline(ReadOnlyInline):
    model = ModerationLabel
    fields = readonly_fields = ["name", "parent_name", "confidence"]


class NeedsReviewFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("needed", "Needs review"), ("identified", "Someone identified")]

    def queryset(self, request, queryset):
        if self.value() == "needed":
            return queryset.filter(faces__review_state=Face.Review.NEEDS_REVIEW).distinct()
        if self.value() == "identified":
            return queryset.filter(faces__person__isnull=False, faces__is_reference=False).distinct()
        return queryset


class LabelFilter(admin.SimpleListFilter):
    title = "label"
    parameter_name = "label"

    def lookups(self, request, model_admin):
        names = Label.objects.values("name").annotate(n=Count("id")).order_by("-n").values_list("name", flat=True)
        return [(name, name) for name in names[:25]]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(labels__name=self.value()).distinct()
        return queryset


class PersonSeenFilter(admin.SimpleListFilter):
    title = "person"
    parameter_name = "person"

    def lookups(self, request, model_admin):
        people = Person.objects.filter(faces__is_reference=False).distinct().order_by("name")[:50]
        return [(str(p.pk), str(p)) for p in people]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(faces__person_id=self.value(), faces__is_reference=False).distinct()
        return queryset


@admin.register(Image)
class ImageAdmin(AuditedViews, admin.ModelAdmin):
    audit_object = "image"
    list_display = ["thumb", "name", "status", "labels_summary", "face_count", "people", "source", "created_at"]
    list_filter = ["status", NeedsReviewFilter, LabelFilter, PersonSeenFilter, "source", "collection", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["sha256", "original_filename", "labels__name", "faces__person__name", "faces__person__external_id"]
    list_select_related = ["collection"]
    list_per_page = 50
    readonly_fields = [
        "preview",
        "status",
        "error",
        "sha256",
        "size_bytes",
        "width",
        "height",
        "content_type",
        "original_filename",
        "source",
        "source_url",
        "collection",
        "features",
        "attempts",
        "engine",
        "model_version",
        "uploaded_by",
        "created_at",
        "analysed_at",
    ]
    fieldsets = [
        (None, {"fields": ["preview", "status", "error"]}),
        ("File", {"fields": ["original_filename", "content_type", "width", "height", "size_bytes", "sha256"]}),
        (
            "Analysis",
            {
                "fields": [
                    "source",
                    "source_url",
                    "collection",
                    "features",
                    "engine",
                    "model_version",
                    "attempts",
                    "uploaded_by",
                    "created_at",
                    "analysed_at",
                ]
            },
        ),
    ]
    actions = ["reanalyse", "send_to_review"]

    def get_inlines(self, request, obj):
        return [LabelInline, FaceInline, TextInline, ModerationInline, *IMAGE_ADMIN_EXTENSIONS["inlines"]]

    def get_actions(self, request):
        actions = super().get_actions(request)
        for action in IMAGE_ADMIN_EXTENSIONS["actions"]:
            actions[action.__name__] = self.get_action(action)
        return actions

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name == "recognition_image_changelist":
            queryset = queryset.annotate(
                face_total=Count("faces", filter=Q(faces__is_reference=False), distinct=True)
            ).prefetch_related(
                Prefetch("labels", queryset=Label.objects.order_by("-confidence")),
                Prefetch("faces", queryset=Face.objects.filter(person__isnull=False).select_related("person")),
            )
        return queryset

    def has_add_permission(self, request):
        return False  # images come in through the API, the import command and enrolment

    def get_urls(self):
        return [
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

    def thumbnail_view(self, request, image_id, size):
        if size not in thumbnails.THUMBNAIL_SIZES:
            raise Http404
        image = get_object_or_404(Image, pk=image_id)
        if not self.has_view_permission(request, image) or not image.file:
            raise PermissionDenied if image.file else Http404
        return _jpeg_response(thumbnails.image_thumbnail(image, size=size))

    def face_crop_view(self, request, face_id):
        face = get_object_or_404(Face.objects.select_related("image"), pk=face_id)
        if not request.user.has_perm("recognition.view_face"):
            raise PermissionDenied
        return _jpeg_response(thumbnails.face_crop(face))

    @admin.display(description="")
    def thumb(self, image):
        if not image.file:
            return "–"
        return format_html('<img src="{}" height="48" loading="lazy" alt="">', thumbnail_url(image.pk))

    @admin.display(description="Image", ordering="original_filename")
    def name(self, image):
        return image.original_filename or str(image.pk)[:8]

    @admin.display(description="Labels")
    def labels_summary(self, image):
        return ", ".join(label.name for label in list(image.labels.all())[:4]) or "–"

    @admin.display(description="Faces", ordering="face_total")
    def face_count(self, image):
        return image.face_total

    @admin.display(description="People")
    def people(self, image):
        names = sorted({face.person.name for face in image.faces.all() if not face.is_reference})
        return ", ".join(names) or "–"

    @admin.display(description="Image with faces and labels")
    def preview(self, image):
        if not image.file or not image.width:
            return "No image stored yet."
        width, height = image.width, image.height
        shapes = []
        for face in image.faces.select_related("person"):
            colour = "#2e7d32" if face.person_id else "#f9a825" if face.review_state == "needs_review" else "#e53935"
            label = (
                face.person.name if face.person_id else (f"{face.similarity:.0f}?" if face.similarity else "unknown")
            )
            shapes.append(_svg_box(face.left, face.top, face.width, face.height, width, height, colour, label, "face"))
        for label in image.labels.all():
            for instance in label.instances:
                box = instance["BoundingBox"]
                if label.name in ("Face",):
                    continue
                shapes.append(
                    _svg_box(
                        box["Left"],
                        box["Top"],
                        box["Width"],
                        box["Height"],
                        width,
                        height,
                        "#1e88e5",
                        label.name,
                        "label",
                    )
                )
        return format_html(
            '<svg class="facesite-preview" viewBox="0 0 {w} {h}" style="max-width:800px;width:100%;height:auto" '
            'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="image with detected faces">'
            '<image href="{src}" x="0" y="0" width="{w}" height="{h}"/>{shapes}</svg>',
            w=width,
            h=height,
            src=thumbnail_url(image.pk, 800),
            shapes=format_html_join("", "{}", ((shape,) for shape in shapes)),
        )

    @admin.action(description="Re-run analysis of selected images", permissions=["change"])
    def reanalyse(self, request, queryset):
        queued = 0
        for image in queryset:
            if services.image_reanalyse(image=image):
                queued += 1
                audit_record(actor=request.user, action="image.reanalyse", target=image, client_ip=request_ip(request))
        self.message_user(request, f"{queued} image(s) queued for analysis; the others are already queued or running.")

    @admin.action(description="Send the faces of selected images to the review queue", permissions=["review"])
    def send_to_review(self, request, queryset):
        faces = Face.objects.filter(image__in=queryset, is_reference=False)
        for face in faces:
            services.face_flag_for_review(face=face, actor=request.user, client_ip=request_ip(request))
        self.message_user(request, f"{len(faces)} face(s) sent to the review queue.")

    def has_review_permission(self, request):
        return request.user.has_perm("recognition.change_face")

    def has_change_permission(self, request, obj=None):
        # Nothing on the page is editable; "change" here means running actions such as re-analysis.
        return request.user.has_perm("recognition.change_image")

    def delete_model(self, request, obj):
        services.image_delete(image=obj, actor=request.user, client_ip=request_ip(request))

    def delete_queryset(self, request, queryset):
        for image in queryset:
            self.delete_model(request, image)


def _svg_box(left, top, w, h, width, height, colour, text, kind):
    # format_html escapes its arguments to strings, so numbers are formatted here first.
    x, y, bw, bh = (f"{v:.1f}" for v in (left * width, top * height, w * width, h * height))
    font = max(12.0, width / 45)
    return format_html(
        '<g class="box {}"><rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="{}" stroke-width="{}"/>'
        '<text x="{}" y="{}" fill="{}" font-size="{}" font-family="sans-serif" paint-order="stroke" stroke="white" '
        'stroke-width="3">{}</text></g>',
        kind,
        x,
        y,
        bw,
        bh,
        colour,
        f"{max(2.0, width / 300):.1f}",
        x,
        f"{max(font, top * height - 4):.1f}",
        colour,
        f"{font:.0f}",
        text,
    )


def _jpeg_response(data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- Review queue ------------------------------------------------------------------------------


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

    def lookups(self, request, model_admin):
        return [("open", "To review"), ("confirmed", "Confirmed"), ("rejected", "Rejected")]

    def queryset(self, request, queryset):
        value = self.value() or "open"
        state = {"open": Face.Review.NEEDS_REVIEW, "confirmed": Face.Review.CONFIRMED, "rejected": Face.Review.REJECTED}
        return queryset.filter(review_state=state[value])

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or "open") == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


@admin.register(FaceForReview)
class ReviewQueueAdmin(AuditedViews, admin.ModelAdmin):
    audit_object = "face"
    form = ReviewForm
    list_display = [
        "face",
        "candidate_reference",
        "similarity_display",
        "candidate",
        "person",
        "image_link",
        "reviewed_by",
        "reviewed_at",
    ]
    list_filter = [ReviewStateFilter, "image__collection"]
    list_select_related = ["candidate", "person", "image", "reviewed_by"]
    autocomplete_fields = ["person"]
    readonly_fields = ["face", "candidate_reference", "candidate", "similarity_display", "image_link", "review_state"]
    fields = [
        "face",
        "candidate_reference",
        "candidate",
        "similarity_display",
        "image_link",
        "review_state",
        "person",
        "add_as_reference",
    ]
    actions = ["confirm", "confirm_and_enrol", "reject"]
    ordering = ["-similarity"]

    def get_queryset(self, request):
        references = Prefetch(
            "candidate__faces",
            queryset=Face.objects.filter(is_reference=True).order_by("created_at"),
            to_attr="reference_faces",
        )
        return super().get_queryset(request).filter(is_reference=False).prefetch_related(references)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Face")
    def face(self, face):
        return face_img(face.pk, size=96)

    @admin.display(description="Candidate's reference")
    def candidate_reference(self, face):
        references = getattr(face.candidate, "reference_faces", None) if face.candidate_id else None
        if not references:
            return "–"
        return face_img(references[0].pk, size=96, title=str(face.candidate))

    @admin.display(description="Similarity", ordering="similarity")
    def similarity_display(self, face):
        return "–" if face.similarity is None else f"{face.similarity:.1f}"

    @admin.display(description="Image")
    def image_link(self, face):
        url = reverse("admin:recognition_image_change", args=[face.image_id])
        return format_html('<a href="{}">{}</a>', url, face.image.original_filename or str(face.image_id)[:8])

    def save_model(self, request, obj, form, change):
        person = form.cleaned_data.get("person")
        if person is None:
            services.face_review_reject(face=obj, reviewer=request.user, client_ip=request_ip(request))
            return
        try:
            services.face_review_confirm(
                face=obj,
                reviewer=request.user,
                person=person,
                add_reference=form.cleaned_data.get("add_as_reference", False),
                client_ip=request_ip(request),
            )
        except services.ReviewError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    def _confirm(self, request, queryset, *, add_reference):
        done, skipped = 0, 0
        for face in queryset.select_related("candidate", "image__collection"):
            try:
                services.face_review_confirm(
                    face=face, reviewer=request.user, add_reference=add_reference, client_ip=request_ip(request)
                )
                done += 1
            except services.ReviewError:
                skipped += 1
        self.message_user(request, f"{done} face(s) confirmed." + (f" {skipped} had no candidate." if skipped else ""))

    @admin.action(description="Confirm: it is the candidate", permissions=["change"])
    def confirm(self, request, queryset):
        self._confirm(request, queryset, add_reference=False)

    @admin.action(description="Confirm and enrol as a new reference face", permissions=["change"])
    def confirm_and_enrol(self, request, queryset):
        self._confirm(request, queryset, add_reference=True)

    @admin.action(description="Reject: not this person", permissions=["change"])
    def reject(self, request, queryset):
        for face in queryset:
            services.face_review_reject(face=face, reviewer=request.user, client_ip=request_ip(request))
        self.message_user(request, f"{queryset.count()} face(s) rejected.")


# --- People --------------------------------------------------------------------------------------


class PersonForm(forms.ModelForm):
    enrol_photo = forms.ImageField(
        required=False,
        help_text="Add a reference photo: exactly one clear, large face.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )

    class Meta:
        model = Person
        fields = ["name", "external_id", "notes", "consent_given_at"]

    def clean_enrol_photo(self):
        upload = self.cleaned_data.get("enrol_photo")
        if upload:
            data = upload.read()
            try:
                inspect_image(data)
            except ImageRejected as exc:
                raise forms.ValidationError(exc.message) from exc
            self.photo_bytes = data
        return upload


@admin.register(Person)
class PersonAdmin(AuditedViews, admin.ModelAdmin):
    audit_object = "person"
    form = PersonForm
    list_display = ["reference_thumb", "name", "external_id", "reference_count", "sighting_count", "consent_given_at"]
    search_fields = ["name", "external_id"]
    list_per_page = 50
    readonly_fields = ["gallery", "recent_sightings", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "external_id", "notes", "consent_given_at"]}),
        ("Reference faces", {"fields": ["gallery", "enrol_photo"]}),
        ("Seen in", {"fields": ["recent_sightings"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                references=Count("faces", filter=Q(faces__is_reference=True), distinct=True),
                sightings=Count("faces", filter=Q(faces__is_reference=False), distinct=True),
            )
            .prefetch_related(
                Prefetch(
                    "faces",
                    queryset=Face.objects.filter(is_reference=True).order_by("created_at"),
                    to_attr="reference_faces",
                )
            )
        )

    @admin.display(description="")
    def reference_thumb(self, person):
        return face_img(person.reference_faces[0].pk, size=40) if person.reference_faces else "–"

    @admin.display(description="Reference faces", ordering="references")
    def reference_count(self, person):
        return person.references

    @admin.display(description="Sightings", ordering="sightings")
    def sighting_count(self, person):
        return person.sightings

    @admin.display(description="Gallery")
    def gallery(self, person):
        faces = getattr(person, "reference_faces", None)
        if not faces:
            return "No reference face yet: add a photo below."
        return format_html_join(" ", "{}", ((face_img(f.pk, size=96),) for f in faces))

    @admin.display(description="Recent sightings")
    def recent_sightings(self, person):
        faces = person.faces.filter(is_reference=False).select_related("image").order_by("-created_at")[:12]
        if not faces:
            return "Not seen in any analysed image."
        return format_html_join(
            " ",
            '<a href="{}" title="{}">{}</a>',
            (
                (
                    reverse("admin:recognition_image_change", args=[f.image_id]),
                    f"{f.created_at:%Y-%m-%d %H:%M}",
                    face_img(f.pk, size=64),
                )
                for f in faces
            ),
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action="person.update" if change else "person.create",
            target=obj,
            client_ip=request_ip(request),
            via="admin",
            fields=sorted(form.changed_data),
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        data = getattr(form, "photo_bytes", None)
        if data is None:
            return
        if not request.user.has_perm("recognition.enroll_person"):
            self.message_user(request, "You may not enrol reference faces; the photo was not added.", messages.ERROR)
            return
        try:
            face = services.person_enroll(person=form.instance, data=data, uploaded_by=request.user)
        except services.EnrolmentError as exc:
            self.message_user(request, f"The photo was not enrolled: {exc.message}", messages.ERROR)
            return
        audit_record(
            actor=request.user,
            action="person.enrol",
            target=face,
            client_ip=request_ip(request),
            via="admin",
            person=str(form.instance.pk),
        )
        self.message_user(request, "The reference photo was enrolled.", messages.SUCCESS)

    def get_deleted_objects(self, objs, request):
        """The confirmation page says what erasure removes, not Django's raw cascade."""
        _, _, perms_needed, protected = super().get_deleted_objects(objs, request)
        lines, counts = [], {"people": 0, "reference faces": 0, "faces matched to them": 0, "reference photos": 0}
        for person in objs:
            report = services.person_erasure_report(person=person)
            lines.append(
                f"{person}: {report.reference_faces} reference face(s) and their embeddings, {report.images} "
                f"reference photo(s), {report.matched_faces} face(s) matched to them in other images, and their "
                "entries in every face collection. "
                + (
                    f"Also {report.sole_subject_images} image(s) in which they are the only face. "
                    if report.sole_subject_images
                    else ""
                )
                + "Verification records keep the badge number and outcome only."
            )
            counts["people"] += 1
            counts["reference faces"] += report.reference_faces
            counts["faces matched to them"] += report.matched_faces
            counts["reference photos"] += report.images
        return lines, {k: v for k, v in counts.items() if v}, perms_needed, protected

    def delete_model(self, request, obj):
        services.person_erase(person=obj, actor=request.user, client_ip=request_ip(request))

    def delete_queryset(self, request, queryset):
        for person in queryset:
            services.person_erase(person=person, actor=request.user, client_ip=request_ip(request))


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "reference_faces", "version", "created_at"]
    readonly_fields = ["version"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(faces_count=Count("reference_faces"))

    @admin.display(description="Reference faces", ordering="faces_count")
    def reference_faces(self, collection):
        return collection.faces_count


@admin.register(Verification)
class VerificationAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "external_id",
        "person",
        "outcome",
        "match",
        "similarity",
        "threshold",
        "requested_by",
        "client_ip",
    ]
    list_filter = ["outcome", "match", "created_at"]
    search_fields = ["external_id", "person__name"]
    list_select_related = ["person", "requested_by"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: nobody edits or deletes the audit trail through the application."""

    list_display = ["created_at", "actor_name", "action", "object_type", "object_id", "client_ip", "details"]
    list_filter = ["action", "object_type", "created_at"]
    search_fields = ["actor_name", "object_id", "action"]
    date_hierarchy = "created_at"

    def get_actions(self, request):
        return {}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
