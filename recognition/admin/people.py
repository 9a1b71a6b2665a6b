"""People in the back office: reference-face galleries, sightings, enrolment by photo, erasure; collections."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join

from recognition.admin.common import AuditedViews, face_img
from recognition.audit import request_ip
from recognition.exceptions import FacesiteError, ImageRejected
from recognition.models import AuditEvent, Collection, Face, Person
from recognition.services.erasure import person_erase, person_erasure_plan
from recognition.services.people import person_enroll, person_save
from recognition.validation import checked


class PersonForm(forms.ModelForm):
    enrol_photo = forms.ImageField(
        required=False,
        help_text="Add a reference photo: exactly one clear, large face.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )

    class Meta:
        model = Person
        fields = ["name", "external_id", "notes", "consent_given_at"]

    def clean_enrol_photo(self) -> Any:
        upload = self.cleaned_data.get("enrol_photo")
        if upload:
            try:
                self.photo = checked(upload.read())
            except ImageRejected as exc:
                raise forms.ValidationError(exc.message) from exc
        return upload


@admin.register(Person)
class PersonAdmin(AuditedViews, admin.ModelAdmin):
    view_action = AuditEvent.Action.PERSON_VIEW
    list_action = AuditEvent.Action.PERSON_LIST
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[Person]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                references=Count("faces", filter=Q(faces__is_reference=True), distinct=True),
                sightings=Count("faces", filter=Q(faces__is_reference=False), distinct=True),
            )
            .prefetch_related(
                Prefetch("faces", queryset=Face.objects.references().order_by("created_at"), to_attr="reference_faces")
            )
        )

    @admin.display(description="")
    def reference_thumb(self, person: Any) -> str:
        return face_img(person.reference_faces[0].pk, size=40) if person.reference_faces else "–"

    @admin.display(description="Reference faces", ordering="references")
    def reference_count(self, person: Any) -> int:
        return person.references

    @admin.display(description="Sightings", ordering="sightings")
    def sighting_count(self, person: Any) -> int:
        return person.sightings

    @admin.display(description="Gallery")
    def gallery(self, person: Person) -> str:
        faces = getattr(person, "reference_faces", None)
        if not faces:
            return "No reference face yet: add a photo below."
        return format_html_join(" ", "{}", ((face_img(f.pk, size=96),) for f in faces))

    @admin.display(description="Recent sightings")
    def recent_sightings(self, person: Person) -> str:
        faces = person.faces.sightings().select_related("image").order_by("-created_at")[:12]
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

    def save_model(self, request: HttpRequest, obj: Person, form: forms.ModelForm, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in PersonForm.Meta.fields}
        person_save(person=obj, changes=changes, actor=request.user, client_ip=request_ip(request), via="admin")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        photo = getattr(form, "photo", None)
        if photo is not None:
            # Only once the person is committed: if the admin's transaction rolls back, no photo is stored
            # (a file written inside it would outlive its row).
            transaction.on_commit(lambda: self._enrol(request, form.instance, photo))

    def _enrol(self, request: HttpRequest, person: Person, photo: Any) -> None:
        try:
            person_enroll(
                person=person, data=photo, uploaded_by=request.user, client_ip=request_ip(request), via="admin"
            )
        except FacesiteError as exc:
            self.message_user(request, f"The photo was not enrolled: {exc.message}", messages.ERROR)
            return
        self.message_user(request, "The reference photo was enrolled.", messages.SUCCESS)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        """The confirmation page says what erasure removes, not Django's raw cascade."""
        _, _, perms_needed, protected = super().get_deleted_objects(objs, request)
        lines, counts = [], {"people": 0, "reference faces": 0, "faces matched to them": 0, "reference photos": 0}
        for person in objs:
            report = person_erasure_plan(person=person).report
            lines.append(
                f"{person}: {report.reference_faces} reference face(s) and their embeddings, {report.images} "
                f"reference photo(s), {report.matched_faces} face(s) matched to them in other images, and their "
                "entries in every face collection. "
                + (
                    f"Also {report.sole_subject_images} image(s) in which they are the only face. "
                    if report.sole_subject_images
                    else ""
                )
                + "Verification records keep their outcome; their badge number, the admin log and outgoing "
                "documents keep only a pseudonym."
            )
            counts["people"] += 1
            counts["reference faces"] += report.reference_faces
            counts["faces matched to them"] += report.matched_faces
            counts["reference photos"] += report.images
        return lines, {k: v for k, v in counts.items() if v}, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Person) -> None:
        person_erase(person=obj, actor=request.user, client_ip=request_ip(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Person]) -> None:
        for person in queryset:
            self.delete_model(request, person)


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "reference_faces", "version", "created_at"]
    readonly_fields = ["version"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Collection]:
        return super().get_queryset(request).annotate(faces_count=Count("reference_faces"))

    @admin.display(description="Reference faces", ordering="faces_count")
    def reference_faces(self, collection: Any) -> int:
        return collection.faces_count
