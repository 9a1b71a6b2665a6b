"""People in the back office: reference-face galleries, sightings, enrolment by photo, erasure."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localdate, localtime

from recognition.admin.common import AuditedViews, DeletedOneByOne, face_img
from recognition.admin.exports import exports_of
from recognition.audit import request_ip
from recognition.exceptions import FacesiteError, ImageRejected, InvalidInput, Unprocessable
from recognition.models import AuditEvent, Face, Person, PersonQuerySet
from recognition.services.access import require_consent_kept
from recognition.services.erasure import person_erase, person_erasure_plan, reference_face_remove
from recognition.services.exports import export_request
from recognition.services.people import person_enroll, person_save
from recognition.services.subject_access import EXPORT, ZIP, export_filename, person_export
from recognition.validation import checked

EXPORTS_AT_ONCE = 20  # people whose exports one click of the admin's action has made in the background


class PersonForm(forms.ModelForm):
    enrol_photo = forms.ImageField(
        required=False,
        help_text="Add a reference photo: exactly one clear, large face.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )

    class Meta:
        model = Person
        fields = ["name", "external_id", "notes", "consent_given_at", "watched"]

    def clean_consent_given_at(self) -> Any:
        consent = self.cleaned_data.get("consent_given_at")
        try:
            require_consent_kept(self.instance, consent)
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message) from exc
        return consent

    def clean_enrol_photo(self) -> Any:
        upload = self.cleaned_data.get("enrol_photo")
        if upload:
            try:
                self.photo = checked(upload.read())
            except ImageRejected as exc:
                raise forms.ValidationError(exc.message) from exc
        return upload


class EnrolledFilter(admin.SimpleListFilter):
    title = "enrolled"
    parameter_name = "enrolled"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "With reference faces"), ("no", "Without")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Person]) -> QuerySet[Person]:
        if self.value() not in ("yes", "no"):
            return queryset
        return cast(PersonQuerySet, queryset).enrolled(self.value() == "yes")  # Person's manager makes them


class ConsentFilter(admin.SimpleListFilter):
    title = "consent"
    parameter_name = "consent"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("recorded", "Recorded"), ("none", "None recorded")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Person]) -> QuerySet[Person]:
        if self.value() in ("recorded", "none"):
            return queryset.filter(consent_given_at__isnull=self.value() == "none")
        return queryset


@admin.register(Person)
class PersonAdmin(AuditedViews, DeletedOneByOne, admin.ModelAdmin):
    view_action = AuditEvent.Action.PERSON_VIEW
    list_action = AuditEvent.Action.PERSON_LIST
    form = PersonForm
    list_display = ["reference_thumb", "name", "external_id", "reference_count", "sighting_count", "consent"]
    list_display_links = ["reference_thumb", "name"]
    list_filter = [EnrolledFilter, ConsentFilter, "watched"]  # enrolled with none recorded: whom to ask
    search_fields = ["name", "external_id"]
    list_per_page = 50
    readonly_fields = ["gallery", "recent_sightings", "exports", "created_at", "updated_at"]
    actions = ["export_data"]
    fieldsets = [
        (None, {"fields": ["name", "external_id", "notes", "consent_given_at", "watched"]}),
        ("Reference faces", {"fields": ["gallery", "enrol_photo"]}),
        ("Seen in", {"fields": ["recent_sightings"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not request.user.has_perm(EXPORT):
            return fieldsets
        return [*fieldsets, ("Subject access exports", {"fields": ["exports"]})]

    @admin.display(description="Exports")
    def exports(self, person: Person) -> str:
        return exports_of(person)

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

    @admin.display(description="Consent", ordering="consent_given_at")
    def consent(self, person: Person) -> str:
        if person.consent_given_at is None:
            return format_html('<span class="status-badge failed">{}</span>', "none recorded")
        return localdate(person.consent_given_at).isoformat()

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
        # Buttons inside the page's own form (which carries the CSRF token), each posting to its face.
        return format_html_join(
            " ",
            '<span class="gallery-face">{}<br><button type="submit" class="button" formaction="{}" '
            "formnovalidate>Remove</button></span>",
            ((face_img(f.pk, size=96), reverse("admin:recognition_person_remove_face", args=[f.pk])) for f in faces),
        )

    @admin.display(description="Recent sightings")
    def recent_sightings(self, person: Person) -> str:
        faces = person.faces.sightings().select_related("image").order_by("-created_at")[:12]
        if not faces:
            return "Not seen in any analysed image."
        return format_html_join(
            " ",
            '<a class="sighting" href="{}">{}<br><small>{}<br>{}</small></a>',
            (
                (
                    reverse("admin:recognition_image_change", args=[f.image_id]),
                    face_img(f.pk, size=64),
                    f"{localtime(f.created_at):%Y-%m-%d %H:%M}",
                    "confirmed" if f.similarity is None else f"similarity {f.similarity:.0f}",
                )
                for f in faces
            ),
        )

    def save_model(self, request: HttpRequest, obj: Person, form: forms.ModelForm, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in PersonForm.Meta.fields}
        if changes or not change:  # a photo alone changes nothing about the person: it is an enrolment
            person_save(person=obj, changes=changes, actor=request.user, client_ip=request_ip(request), via="admin")
        upload = form.cleaned_data.get("enrol_photo")
        if getattr(form, "photo", None) is not None:
            request._facesite_enrol = (obj.pk, form.photo, upload.name if upload else "")  # type: ignore[attr-defined]

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:  # fmt: skip
        if object_id and request.method == "GET":
            person = self.get_object(request, object_id)
            if person is not None and person.consent_given_at is None:
                self.message_user(request, "No consent to biometric processing is recorded for this person.",
                                  messages.WARNING)  # fmt: skip
        response = super().changeform_view(request, object_id, form_url, extra_context)
        pending = getattr(request, "_facesite_enrol", None)
        if pending is None:
            return response
        # After the person's transaction committed: a photo stored inside it would outlive a rollback.
        person_id, photo, filename = pending
        person = Person.objects.get(pk=person_id)
        try:
            person_enroll(person=person, data=photo, uploaded_by=request.user, filename=filename,
                          client_ip=request_ip(request), via="admin")  # fmt: skip
        except FacesiteError as exc:
            _drop_success_messages(request)
            self.message_user(request, f"{person} was not enrolled: {exc.message}", messages.ERROR)
            return redirect("admin:recognition_person_change", person.pk)
        self.message_user(request, f"The reference photo of {person} was enrolled.", messages.SUCCESS)
        return response

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(EXPORT)

    @admin.action(description="Export their data (subject access)", permissions=["export"])
    def export_data(self, request: HttpRequest, queryset: QuerySet[Person]) -> FileResponse | None:
        """A zip of everything held about the person selected, for a subject access request, made while the page
        waits; made in the background for several people, or for one seen too often to make it so."""
        people = list(queryset[: EXPORTS_AT_ONCE + 1])
        if len(people) > EXPORTS_AT_ONCE:
            self.message_user(request, f"Select at most {EXPORTS_AT_ONCE} people to export at once: each export "
                              "cuts a crop from every photo the person was seen in.", messages.WARNING)  # fmt: skip
            return None
        if len(people) == 1:
            [person] = people
            try:
                archive = person_export(person=person, actor=request.user, client_ip=request_ip(request),
                                        most_sightings=settings.FACESITE_EXPORT_WEB_MAX_SIGHTINGS)  # fmt: skip
                return FileResponse(archive, as_attachment=True, filename=export_filename(person), content_type=ZIP)
            except Unprocessable as exc:
                if exc.code != "export_too_large":
                    raise
            why = f"{person} has been seen more often than an export made while you wait holds"
        else:
            why = f"Each of the {len(people)} people gets an export of their own"
        for person in people:
            export_request(person=person, actor=request.user, client_ip=request_ip(request))
        exports = reverse("admin:recognition_personexport_changelist")
        exports += f"?person={people[0].pk}" if len(people) == 1 else ""
        said = format_html('{}: it is made in the background, and will be ready to download from <a href="{}">'
                           "subject access exports</a> for {} days.", why, exports,
                           settings.FACESITE_RETENTION["exports"])  # fmt: skip
        self.message_user(request, said, messages.INFO)
        return None

    def get_urls(self) -> list[URLPattern]:
        return [
            path("face/<uuid:face_id>/remove/", self.admin_site.admin_view(self.remove_face_view),
                 name="recognition_person_remove_face"),
            *super().get_urls(),
        ]  # fmt: skip

    def remove_face_view(self, request: HttpRequest, face_id: UUID) -> HttpResponse:
        """One reference face out of a person's gallery (from the engine's collection, the database, storage)."""
        face = get_object_or_404(Face.objects.references().select_related("person", "collection", "image"), pk=face_id)
        if request.method != "POST" or not request.user.has_perm("recognition.delete_face"):
            raise PermissionDenied
        reference_face_remove(face=face, actor=request.user, client_ip=request_ip(request))
        self.message_user(request, "The reference face was removed.", messages.SUCCESS)
        return redirect("admin:recognition_person_change", face.person_id)

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


def _drop_success_messages(request: HttpRequest) -> None:
    """Take back the admin's "changed successfully" when what the form was for (the enrolment) failed."""
    storage = get_messages(request)
    kept = [m for m in storage if m.level != messages.SUCCESS]
    for message in kept:
        messages.add_message(request, message.level, message.message, extra_tags=message.extra_tags)
