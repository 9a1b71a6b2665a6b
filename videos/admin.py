"""Videos in the back office: upload (a file or a URL), progress, and the player with its sightings on a
timeline (a click on a sighting seeks the player). The file is served with HTTP ranges, so it seeks."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from recognition.admin.activity import Kind, name_objects
from recognition.admin.common import DeletedOneByOne
from recognition.audit import audit_request, request_ip
from recognition.exceptions import FacesiteError
from recognition.models import AuditEvent, Collection
from videos.labels import holding, labels_found, stretches_of
from videos.models import Camera, Video
from videos.services import AnalysisOptions, camera_delete, video_delete, video_upload, video_upload_url

RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
CONTENT_TYPES = {"mp4/mov": "video/mp4", "mkv/webm": "video/webm"}


class VideoUploadForm(forms.Form):
    file = forms.FileField(required=False, help_text="MP4, MOV, MKV or WebM.")
    url = forms.URLField(
        required=False, max_length=2000, assume_scheme="https", help_text="Or an http(s) URL for the worker to fetch."
    )
    collection = forms.ModelChoiceField(queryset=Collection.objects.all(), empty_label=None)
    features = forms.MultipleChoiceField(
        choices=[("faces", "Faces, followed and searched"), ("labels", "Labels: what is in the picture"),
                 ("moderation", "Unsafe content"), ("text", "Text: signs, plates, captions (slower)")],
        initial=["faces"], widget=forms.CheckboxSelectMultiple, label="Analyse each sampled frame for",
        help_text="What each sampled frame is analysed for. Labels, unsafe content and lines of text are listed on "
        "the video's page.",
    )  # fmt: skip
    min_confidence = forms.FloatField(
        initial=50.0, min_value=0.0, max_value=100.0, label="Lowest confidence",
        help_text="0–100: labels, unsafe content and text found or read less surely than this are not kept.",
    )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("file")) == bool(data.get("url")):
            raise forms.ValidationError("Choose a file or give a URL (one of the two).")
        return data

    def options(self) -> AnalysisOptions:
        """What the video is to be analysed for."""
        return AnalysisOptions(features=tuple(self.cleaned_data["features"]),
                               min_confidence=self.cleaned_data["min_confidence"])  # fmt: skip


class CameraForm(forms.ModelForm):
    stream = forms.CharField(
        required=False, max_length=2000, label="Stream URL",
        help_text="rtsp://user:password@host/path or http(s)://… It is stored encrypted and never shown again; "
        "leave empty to keep the current one.",
    )  # fmt: skip

    class Meta:
        model = Camera
        fields = ["name", "location", "collection", "sample_rate", "active"]

    def clean_stream(self) -> str:
        url = self.cleaned_data.get("stream", "").strip()
        if not url and not self.instance.stream_url_sealed:
            raise forms.ValidationError("A new camera needs its stream's URL.")
        if url and urlsplit(url).scheme not in ("rtsp", "rtsps", "http", "https"):
            raise forms.ValidationError("Give an rtsp://, rtsps://, http:// or https:// URL.")
        return url

    def save(self, commit: bool = True) -> Camera:
        if self.cleaned_data.get("stream"):
            self.instance.stream_url = self.cleaned_data["stream"]
        return super().save(commit=commit)


name_objects("video", Kind(Video, str, "admin:videos_video_change"))
name_objects("camera", Kind(Camera, str, "admin:videos_camera_change"))


@admin.register(Camera)
class CameraAdmin(DeletedOneByOne, admin.ModelAdmin):
    form = CameraForm
    list_display = ["name", "location", "collection", "active", "connected_at", "error", "stream"]
    list_filter = ["active"]

    @admin.display(description="Stream")
    def stream(self, camera: Camera) -> str:
        return camera.shown_url

    def delete_model(self, request: HttpRequest, obj: Camera) -> None:
        camera_delete(camera=obj, actor=request.user, client_ip=request_ip(request))


@admin.register(Video)
class VideoAdmin(DeletedOneByOne, admin.ModelAdmin):
    list_display = ["__str__", "status_progress", "duration_shown", "sighting_count", "collection", "created_at"]
    list_filter = ["status", "collection"]
    search_fields = ["original_filename", "source_url"]
    change_form_template = "videos/video_change.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Video]:
        return super().get_queryset(request).select_related("collection").annotate(sighting_total=Count("sightings"))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Video], search_term: str
    ) -> tuple[QuerySet[Video], bool]:
        """Its file's name or URL, as the search fields match them, or a label found or a line of text read in
        it (part of a name, any case and whatever its spaces): a plate finds the videos it was seen in. The
        stretches are asked of each video in a subquery: a join through a long video's hundred thousand
        stretches, made distinct again, took a minute and a half on the 3-hour benchmark video."""
        if not (term := search_term.strip()):
            return queryset, False
        named, duplicates = super().get_search_results(request, Video.objects.all(), term)
        seen = Exists(holding(stretches_of(), term))
        return queryset.filter(Q(pk__in=named.values("pk")) | seen), duplicates

    @admin.display(description="Status")
    def status_progress(self, video: Video) -> str:
        return (
            f"{video.get_status_display()} {video.progress} %"
            if video.status == "processing"
            else video.get_status_display()
        )

    @admin.display(description="Duration", ordering="duration")
    def duration_shown(self, video: Video) -> str:
        return "–" if video.duration is None else f"{int(video.duration // 60)}:{video.duration % 60:04.1f}"

    @admin.display(description="Sightings", ordering="sighting_total")
    def sighting_count(self, video: Any) -> int:
        return video.sighting_total

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # what analysis found is not edited; sightings are reviewed through their faces

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<uuid:pk>/file/", view(self.file_view), name="videos_video_file"),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = VideoUploadForm(request.POST or None, request.FILES or None,
                               initial={"collection": Collection.get_default()})  # fmt: skip
        if request.method == "POST" and form.is_valid():
            common = {"collection": form.cleaned_data["collection"], "uploaded_by": request.user,
                      "client_ip": request_ip(request), "options": form.options()}  # fmt: skip
            try:
                if form.cleaned_data["url"]:
                    video = video_upload_url(url=form.cleaned_data["url"], **common)
                else:
                    upload = form.cleaned_data["file"]
                    video = video_upload(file=upload, filename=upload.name or "", **common)
            except FacesiteError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"{video} was uploaded; it is analysed in the background.", messages.SUCCESS)
                return redirect("admin:videos_video_change", video.pk)
        context = {**self.admin_site.each_context(request), "title": "Upload a video", "form": form,
                   "opts": self.model._meta}  # fmt: skip
        return TemplateResponse(request, "admin/facesite_upload.html", context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        video = get_object_or_404(Video.objects.select_related("collection"), pk=object_id)
        if not self.has_view_permission(request, video):
            raise PermissionDenied
        audit_request(request, AuditEvent.Action.VIDEO_VIEW, video)
        # Each frame's boxes and details are what the API pages through; the page shows where and who.
        sightings: list[Any] = list(video.sightings.select_related("person", "candidate").defer("boxes", "details"))
        length = max(video.duration or 0.0, 1e-6)
        for sighting in sightings:  # where each sits on the timeline
            sighting.left_percent = 100 * sighting.first_at / length
            sighting.width_percent = max(0.8, 100 * (sighting.last_at - sighting.first_at) / length)
        context = {**self.admin_site.each_context(request), "title": str(video), "video": video,
                   "sightings": sightings, "labels": labels_found(video), "opts": self.model._meta,
                   "original": video,
                   "file_url": reverse("admin:videos_video_file", args=[video.pk]) if video.file else "",
                   "frame_labels_url": reverse("video-frame-labels", args=[video.pk]),
                   "sightings_url": reverse("video-sightings", args=[video.pk]),
                   "has_delete_permission": self.has_delete_permission(request, video)}  # fmt: skip
        return TemplateResponse(request, self.change_form_template, context)

    def file_view(self, request: HttpRequest, pk: str) -> HttpResponseBase:
        video = get_object_or_404(Video, pk=pk)
        if not self.has_view_permission(request, video) or not video.file:
            raise PermissionDenied
        return ranged_file(request, video)

    def delete_model(self, request: HttpRequest, obj: Video) -> None:
        video_delete(video=obj, actor=request.user, client_ip=request_ip(request))


def ranged_file(request: HttpRequest, video: Video) -> HttpResponseBase:
    """The stored file, whole or the byte range asked for (what lets a <video> element seek)."""
    content_type = CONTENT_TYPES.get(video.container, "application/octet-stream")
    try:
        size = video.file.size
    except FileNotFoundError as exc:
        raise Http404(f"The stored file of this video ({video.file.name}) is missing from storage.") from exc
    match = RANGE.match(request.headers.get("Range", ""))
    if not match or not any(match.groups()):
        whole = FileResponse(video.file.open("rb"), content_type=content_type)
        whole["Accept-Ranges"] = "bytes"
        return whole
    first, last = match.groups()
    start = int(first) if first else max(0, size - int(last))
    end = min(int(last), size - 1) if first and last else size - 1
    if start >= size or start > end:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        return refused
    handle = video.file.open("rb")
    handle.seek(start)
    response = StreamingHttpResponse(_read(handle, end - start + 1), status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response


def _read(handle: Any, remaining: int, block: int = 256 * 1024) -> Any:
    try:
        while remaining > 0:
            data = handle.read(min(block, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        handle.close()
