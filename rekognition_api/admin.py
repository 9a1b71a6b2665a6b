"""Access keys in the back office: created with their secret shown once, revoked, never shown again; and the
Rekognition-compatible API's users, collections' tags (on their own list and on each collection's page) and
video jobs, read only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from recognition.admin.collections import CollectionAdmin
from recognition.admin.common import ReadOnlyAdmin, ReadOnlyInline
from recognition.audit import request_ip
from recognition.models import Collection
from rekognition_api.keys import access_key_create, access_key_refusal, access_key_revoke
from rekognition_api.models import AccessKey, CollectionTag, CollectionUser, VideoJob


@admin.register(AccessKey)
class AccessKeyAdmin(admin.ModelAdmin):
    list_display = ["access_key_id", "user", "description", "is_active", "created_at", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["access_key_id", "user__username", "description"]
    readonly_fields = ["access_key_id", "created_at", "last_used_at"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: AccessKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("user", "description")
        return ("access_key_id", "user", "description", "is_active", "created_at", "last_used_at")

    def get_readonly_fields(self, request: HttpRequest, obj: AccessKey | None = None) -> list[str]:
        return [*self.readonly_fields, "user"] if obj else []

    def get_form(self, request: HttpRequest, obj: AccessKey | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            return form

        class NewKeyForm(form):  # type: ignore[misc,valid-type]
            def clean_user(self) -> Any:
                """The user chosen, if the signed-in user may make them a key (``access_key_refusal``)."""
                if refusal := access_key_refusal(actor=request.user, user=self.cleaned_data["user"]):
                    raise ValidationError(refusal)
                return self.cleaned_data["user"]

        return NewKeyForm

    def save_model(self, request: HttpRequest, obj: AccessKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, secret = access_key_create(user=obj.user, description=obj.description, actor=request.user,
                                        client_ip=request_ip(request))  # fmt: skip
        obj.pk = key.pk
        request._access_key_secret = secret  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: AccessKey, post_url_continue: str | None = None) -> Any:
        key = AccessKey.objects.get(pk=obj.pk)
        context = {
            **self.admin_site.each_context(request),
            "key": key,
            "secret": getattr(request, "_access_key_secret", ""),
            "endpoint": request.build_absolute_uri("/rekognition"),
        }
        return TemplateResponse(request, "rekognition_api/admin/access_key_secret.html", context)

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[AccessKey]) -> None:
        for key in queryset.filter(is_active=True):
            access_key_revoke(key=key, actor=request.user, client_ip=request_ip(request))
        self.message_user(request, "Revoked; requests signed with these keys are refused.", messages.SUCCESS)


@admin.register(CollectionUser)
class CollectionUserAdmin(ReadOnlyAdmin):
    """Which person each Rekognition UserId of a collection is; made and removed through the API only."""

    list_display = ["user_id", "collection", "person", "created_at"]
    list_filter = ["collection"]
    search_fields = ["user_id", "person__name"]
    list_select_related = ["collection", "person"]


@admin.register(CollectionTag)
class CollectionTagAdmin(ReadOnlyAdmin):
    """The tags infrastructure code put on collections (TagResource); set and removed through the API only."""

    list_display = ["key", "value", "collection"]
    list_filter = ["collection"]
    search_fields = ["key", "value"]
    list_select_related = ["collection"]


class CollectionTagInline(ReadOnlyInline):
    """A collection's tags on its page, to those who may see tags."""

    model = CollectionTag
    fields = ["key", "value"]
    readonly_fields = ["key", "value"]
    verbose_name_plural = "Tags (set through the Rekognition-compatible API)"


# The collection's page is recognition's; its tags are this app's, which recognition does not know of.
admin.site.unregister(Collection)


@admin.register(Collection)
class TaggedCollectionAdmin(CollectionAdmin):
    def get_inlines(self, request: HttpRequest, obj: Collection | None) -> list[type[InlineModelAdmin[Any, Any]]]:
        """Its tags, once it is made: a new collection has none, and its form asks for no empty list of them."""
        inlines = list(super().get_inlines(request, obj))
        return [*inlines, CollectionTagInline] if obj is not None else inlines


@admin.register(VideoJob)
class VideoJobAdmin(ReadOnlyAdmin):
    """Rekognition Video jobs (face search, face, label and text detection, content moderation): which video,
    who started it, with which token and tag. Read only: each is a video, seen and deleted on its own page."""

    list_display = ["video_link", "kind", "status", "user", "job_tag", "client_request_token", "created_at"]
    list_filter = ["kind"]
    search_fields = ["job_tag", "client_request_token", "user__username", "video__original_filename"]
    list_select_related = ["video", "user"]

    @admin.display(description="Video (the JobId)")
    def video_link(self, job: VideoJob) -> str:
        page = reverse("admin:videos_video_change", args=[job.video_id])
        return format_html('<a href="{}">{}</a> <code>{}</code>', page, job.video, job.video_id)

    @admin.display(description="Status")
    def status(self, job: VideoJob) -> str:
        return job.video.get_status_display()
