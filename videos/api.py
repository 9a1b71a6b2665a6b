"""``/api/videos/``: upload a video (multipart ``file`` or JSON ``url``; 202), follow its progress, read its
sightings and label stretches (whole, or a page at a time), delete it. ``/api/cameras/``: the live cameras,
and each one's sightings by time and person."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.throttling import BaseThrottle

from recognition.api.common import VALIDATION_ERROR, throttled_as
from recognition.api.inputs import FeaturesField
from recognition.api.permissions import ModelPermissions, require
from recognition.api.strict import KnownFieldsOnly, KnownQueryParamsOnly
from recognition.audit import audit_list, audit_request, request_ip
from recognition.models import AuditEvent
from recognition.services.collections import collection_named
from videos.filters import (
    CameraSightingFilter,
    FrameLabelFilter,
    LabelSegmentFilter,
    VideoFilter,
    VideoSightingFilter,
)
from videos.labels import frame_json, frame_values, stretch_json, stretch_values, video_label_segments
from videos.models import FEATURES, Camera, Sighting, Video, VideoLabel, VideoLabelSegment
from videos.services import AnalysisOptions, video_delete, video_upload, video_upload_url

RECENT_SIGHTINGS = 50
COLLECTION_HELP = "The collection its faces are searched in (its name)."


class SightingSerializer(serializers.ModelSerializer):
    person = serializers.SerializerMethodField(help_text="Who it is, if identified: id, name and badge.")
    face_id = serializers.UUIDField(read_only=True, allow_null=True, help_text="The face in the frame kept.")
    frame_id = serializers.UUIDField(read_only=True, allow_null=True, help_text="That frame, an image.")

    class Meta:
        model = Sighting
        fields = [
            "id", "person", "similarity", "first_at", "last_at", "best_at", "seen_at", "face_id", "frame_id", "boxes",
            "details",
        ]  # fmt: skip
        extra_kwargs = {
            "similarity": {"help_text": "How alike the face and the person it was identified as (or the candidate "
                                        "sent to review) are, 0–100; null when it is like no one enrolled."},
            "last_at": {"help_text": "Seconds from the start, when the face was last seen."},
        }  # fmt: skip

    def get_person(self, sighting: Sighting) -> dict[str, Any] | None:
        person = sighting.person
        if person is None:
            return None
        return {"id": str(person.pk), "name": person.name, "external_id": person.external_id}


class LabelSegmentSerializer(serializers.Serializer):
    """A label (or moderation label, or line of text) found in sampled frames close together (one or two frames
    that missed it do not end it)."""

    kind = serializers.ChoiceField(choices=VideoLabel.Kind.choices, help_text="label, moderation, or text.")
    name = serializers.CharField(
        help_text="What was found: Dog, Car…, a moderation category, or a line of text (as it was read in most "
        "frames of the stretch)."
    )
    parents = serializers.ListField(
        child=serializers.CharField(), help_text="The labels it is a kind of (a moderation label's category)."
    )
    first_at = serializers.FloatField(help_text="Seconds from the start: the first frame it was found in.")
    last_at = serializers.FloatField(help_text="Seconds from the start: the last frame of this stretch.")
    frames = serializers.IntegerField(help_text="How many sampled frames of the stretch it was found in.")
    confidence = serializers.FloatField(help_text="Its highest confidence in the stretch, 0–100.")


class FrameLabelSerializer(serializers.Serializer):
    """A label (or moderation label, or line of text) found in one sampled frame, with where it is in it."""

    at = serializers.FloatField(help_text="Seconds from the start: when the frame was taken.")
    kind = serializers.ChoiceField(choices=VideoLabel.Kind.choices, help_text="label, moderation, or text.")
    name = serializers.CharField(help_text="What was found: Dog, Car…, a moderation category, or a line of text.")
    confidence = serializers.FloatField(help_text="0–100.")
    boxes = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4),
        help_text="Where it is: [left, top, width, height] as ratios of the frame; a line of text's box, each "
        "instance of a label that has them (Person, Car…), none for a moderation label or a label of the whole "
        "picture.",
    )


class VideoSerializer(serializers.ModelSerializer):
    collection = serializers.CharField(source="collection.name", read_only=True, help_text=COLLECTION_HELP)
    sightings = SightingSerializer(many=True, read_only=True, help_text="The faces followed through it, by time.")
    labels = serializers.SerializerMethodField(
        help_text="The labels, moderation labels and lines of text found (when its features ask for them), each "
        "stretch of sampled frames it was found in once (one or two frames that missed it do not end it), by time."
    )

    class Meta:
        model = Video
        fields = [
            "id", "status", "progress", "error", "original_filename", "source_url", "container", "codec", "width",
            "height", "duration", "frame_rate", "size_bytes", "sha256", "collection", "identify", "face_details",
            "sample_rate", "keyframes_only", "chunk_seconds", "engine", "model_version", "created_at", "analysed_at",
            "features", "min_confidence", "sightings", "labels",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "source_url": {"help_text": "Where the worker fetched it from: an http(s) URL, or s3://bucket/key for "
                                        "a video the Rekognition-compatible API's StartFaceSearch named; empty "
                                        "for a file sent."},
            "frame_rate": {"help_text": "Frames a second, as probed from the file."},
            "error": {"help_text": "Why it could not be analysed, when it could not."},
            "original_filename": {"help_text": "The name it was sent under, or the URL's or key's last part."},
            "codec": {"help_text": "Its video stream's codec, as probed (h264, hevc, vp9…)."},
            "width": {"help_text": "Pixels, as probed."},
            "height": {"help_text": "Pixels, as probed."},
            "size_bytes": {"help_text": "The file's size."},
            "sha256": {"help_text": "Of the file's bytes."},
            "engine": {"help_text": "The recognition engine that analysed it: local or rekognition."},
            "model_version": {"help_text": "The engine's models when it analysed it."},
            "analysed_at": {"help_text": "When the analysis finished; null until then."},
        }  # fmt: skip

    @extend_schema_field(LabelSegmentSerializer(many=True))
    def get_labels(self, video: Video) -> list[dict[str, Any]]:
        return video_label_segments(video)


class VideoSummarySerializer(VideoSerializer):
    class Meta(VideoSerializer.Meta):
        fields = [f for f in VideoSerializer.Meta.fields if f not in ("sightings", "labels")]
        read_only_fields = fields


class VideoCreateSerializer(KnownFieldsOnly):
    """A video to search for enrolled people (a multipart file or a URL the worker fetches), the collection."""

    file = serializers.FileField(required=False, help_text="The video (MP4, MOV, MKV or WebM), multipart.")
    url = serializers.URLField(required=False, max_length=2000, help_text="An http(s) URL the worker fetches.")
    collection = serializers.SlugField(required=False, help_text="Collection to identify faces against.")
    features = FeaturesField(
        choices=FEATURES, required=False,
        help_text="What each sampled frame is analysed for: faces (followed into sightings, the default), labels "
        "(things in the picture), moderation (unsafe content), text (lines of text; the slowest, a third of a "
        "second or more a frame). Form fields may name several in one, separated by commas (faces,labels).",
    )  # fmt: skip
    min_confidence = serializers.FloatField(
        default=50.0, min_value=0.0, max_value=100.0,
        help_text="The lowest confidence, 0–100, of the labels, moderation labels and lines and words of text kept.",
    )  # fmt: skip
    face_details = serializers.ChoiceField(
        choices=Video.FaceDetails.choices, default=Video.FaceDetails.NONE,
        help_text="What each sighting keeps of its face at every sampled frame beside the box and confidence "
        "(its details): none; default, the landmarks, pose and quality; all, those and the face's attributes "
        "(age, gender, emotions, smile), which runs the attributes model on every face of every sampled frame.",
    )  # fmt: skip

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("file") is None) == (attrs.get("url") is None):
            raise serializers.ValidationError("Send exactly one of file or url.", code="video_required")
        return attrs


VIDEO_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The video's id.")


@extend_schema_view(retrieve=extend_schema(parameters=[VIDEO_ID]), destroy=extend_schema(parameters=[VIDEO_ID]))
class VideoViewSet(
    KnownQueryParamsOnly,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Videos and the people seen in them."""

    permission_classes = [ModelPermissions]
    parser_classes = [MultiPartParser, JSONParser]
    filterset_class = VideoFilter
    lookup_value_regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"  # a UUID

    def get_queryset(self) -> QuerySet[Any]:
        of_video = Q(video_id=self.kwargs.get("pk"))  # no pk while the schema is made
        if self.action == "sightings":
            return Sighting.objects.filter(of_video).select_related("person").order_by("first_at", "pk")
        if self.action == "labels":
            return stretch_values(VideoLabelSegment.objects.filter(of_video).order_by("start", "name", "pk"))
        if self.action == "frame_labels":
            return frame_values(VideoLabel.objects.filter(of_video).order_by("at", "kind", "pk"))
        videos = Video.objects.select_related("collection").order_by("-created_at")
        return videos if self.action in ("list", "summary") else videos.prefetch_related("sightings__person")

    def get_throttles(self) -> list[BaseThrottle]:
        return throttled_as("upload") if self.action == "create" else super().get_throttles()

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in ("sightings", "labels", "frame_labels", "summary"):
            return super().get_serializer_class()  # the action's own
        return VideoSummarySerializer if self.action == "list" else VideoSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        audit_list(request, AuditEvent.Action.VIDEO_LIST)
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        video = self.get_object()
        audit_request(request, AuditEvent.Action.VIDEO_VIEW, video)
        return Response(self.get_serializer(video).data)

    @extend_schema(
        request={"multipart/form-data": VideoCreateSerializer, "application/json": VideoCreateSerializer},
        responses={
            202: OpenApiResponse(VideoSerializer, description="Accepted: analysis runs in the background."),
            400: VALIDATION_ERROR,
        },
    )
    def create(self, request: Request) -> Response:
        """Upload a video; poll it until done (with its sightings) or failed. `progress` is percent done."""
        data = VideoCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        common: dict[str, Any] = {
            "collection": collection_named(name=params.get("collection")),
            "options": AnalysisOptions(
                features=tuple(params.get("features") or ["faces"]),
                face_details=params["face_details"],
                min_confidence=params["min_confidence"],
            ),
            "uploaded_by": request.user,
            "client_ip": request_ip(request),
        }
        if params.get("url"):
            video = video_upload_url(url=params["url"], **common)
        else:
            upload = params["file"]
            video = video_upload(file=upload, filename=upload.name or "", **common)
        return Response(VideoSerializer(video).data, status=status.HTTP_202_ACCEPTED)

    def perform_destroy(self, instance: Video) -> None:
        video_delete(video=instance, actor=self.request.user, client_ip=request_ip(self.request))

    @extend_schema(summary="A video without its results", parameters=[VIDEO_ID], responses=VideoSummarySerializer)
    @action(detail=True, serializer_class=VideoSummarySerializer)
    def summary(self, request: Request, pk: str | None = None) -> Response:
        """The video as the list shows it: its status and progress, without the sightings and label stretches
        that `GET /api/videos/{id}/` holds (a long video's hundred thousand of them make tens of megabytes). Poll
        this until the video is done, then page its results with `sightings/` and `labels/`."""
        return self.retrieve(request, pk=pk)

    @extend_schema(
        summary="A video's sightings, by time", parameters=[VIDEO_ID], responses=SightingSerializer(many=True)
    )
    @action(
        detail=True,
        serializer_class=SightingSerializer,
        filterset_class=VideoSightingFilter,
        lists=True,
        permission_classes=[require("videos.view_video", "videos.view_sighting")],
    )
    def sightings(self, request: Request, pk: str | None = None) -> Response:
        """The faces followed through the video, as they began, a page at a time: what the video's answer
        holds in `sightings`, for a long video read in pages, or only some (a person's, from a time)."""
        return self._page_of(request, pk)

    @extend_schema(
        summary="A video's label stretches, by time", parameters=[VIDEO_ID], responses=LabelSegmentSerializer(many=True)
    )
    @action(
        detail=True,
        serializer_class=LabelSegmentSerializer,
        filterset_class=LabelSegmentFilter,
        lists=True,
        permission_classes=[require("videos.view_video")],
    )
    def labels(self, request: Request, pk: str | None = None) -> Response:
        """Each stretch of sampled frames a label (or moderation label, or line of text) was found in, as they
        began, a page at a time: what the video's answer holds in `labels`, for a long video read in pages, or
        only some."""
        return self._page_of(request, pk, row_json=stretch_json)

    @extend_schema(
        summary="A video's labels and text, frame by frame",
        parameters=[VIDEO_ID],
        responses=FrameLabelSerializer(many=True),
    )
    @action(
        detail=True,
        url_path="frame-labels",
        serializer_class=FrameLabelSerializer,
        filterset_class=FrameLabelFilter,
        lists=True,
        permission_classes=[require("videos.view_video")],
    )
    def frame_labels(self, request: Request, pk: str | None = None) -> Response:
        """Each label, moderation label and line of text found in each sampled frame, with where it is in the
        frame, by time, a page at a time: the frames behind a stretch of `labels/` (`from_seconds` and
        `to_seconds` its `first_at` and `last_at`), to crop a plate from each or follow a sign across the
        picture."""
        return self._page_of(request, pk, row_json=frame_json)

    def _page_of(
        self, request: Request, pk: str | None, *, row_json: Callable[[Any], dict[str, Any]] | None = None
    ) -> Response:
        """A page of the video's rows this action lists (a 404 for no such video), each made a dict by
        ``row_json`` where the action's queryset reads values, then serialized; reading it is audited as a view of
        the video, with its query."""
        video = get_object_or_404(Video, pk=pk)
        page: Sequence[Any] = self.paginate_queryset(self.filter_queryset(self.get_queryset())) or []
        audit_request(request, AuditEvent.Action.VIDEO_VIEW, video, query=request.query_params.urlencode())
        rows = [row_json(values) for values in page] if row_json else page
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


class CameraSerializer(serializers.ModelSerializer):
    collection = serializers.CharField(source="collection.name", read_only=True, help_text=COLLECTION_HELP)
    stream = serializers.CharField(source="shown_url", read_only=True, help_text="The URL without its credentials.")
    sightings = serializers.SerializerMethodField(help_text=f"The latest {RECENT_SIGHTINGS} sightings, newest first.")

    class Meta:
        model = Camera
        fields = ["id", "name", "location", "stream", "collection", "sample_rate", "active", "connected_at", "error",
                  "sightings"]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "location": {"help_text": "Where it looks, in words."},
            "active": {"help_text": "Whether its worker watches it."},
        }

    @extend_schema_field(SightingSerializer(many=True))
    def get_sightings(self, camera: Camera) -> list[dict[str, Any]]:
        latest = camera.sightings.select_related("person").order_by("-seen_at")[:RECENT_SIGHTINGS]
        return list(SightingSerializer(latest, many=True).data)


CAMERA_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The camera's id, as cameras list it.")


class CameraViewSet(KnownQueryParamsOnly, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Live cameras, each watched by its own worker, with their latest sightings."""

    permission_classes = [ModelPermissions]
    serializer_class = CameraSerializer
    filterset_class: type[django_filters.FilterSet] | None = None  # the sightings' own, on that action
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[Any]:
        if self.action == "sightings":
            sightings = Sighting.objects.filter(camera_id=self.kwargs.get("pk", 0))
            return sightings.select_related("person").order_by("-seen_at", "-pk")
        return Camera.objects.select_related("collection")

    @extend_schema(parameters=[CAMERA_ID])
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        camera = self.get_object()
        audit_request(request, AuditEvent.Action.CAMERA_VIEW, camera)
        return Response(self.get_serializer(camera).data)

    @extend_schema(
        summary="A camera's sightings, newest first", parameters=[CAMERA_ID], responses=SightingSerializer(many=True)
    )
    @action(detail=True, serializer_class=SightingSerializer, filterset_class=CameraSightingFilter, lists=True)
    def sightings(self, request: Request, pk: str | None = None) -> Response:
        camera = get_object_or_404(Camera, pk=pk)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        audit_request(request, AuditEvent.Action.CAMERA_VIEW, camera, query=request.query_params.urlencode())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


router = SimpleRouter()
router.register("videos", VideoViewSet, basename="video")
router.register("cameras", CameraViewSet, basename="camera")
urlpatterns = router.urls
