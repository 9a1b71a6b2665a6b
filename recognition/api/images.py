"""Images and their analysis results."""

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import FileResponse, HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import BaseThrottle

from recognition.api import examples
from recognition.api import serializers as s
from recognition.api.common import PARSERS, VALIDATION_ERROR, query_flag, throttled_as, uploaded_filename
from recognition.api.filters import ImageFilter
from recognition.api.permissions import ModelPermissions
from recognition.api.strict import KnownQueryParamsOnly
from recognition.audit import audit_list, audit_request, request_ip
from recognition.models import AuditEvent, Face, Image
from recognition.services import thumbnails
from recognition.services.collections import collection_named
from recognition.services.erasure import image_delete
from recognition.services.ingest import image_ingest_url, image_upload

#: What ImageSerializer reads of an image's results.
RESULTS = ("labels", "text_detections", "moderation_labels", "faces", "deliveries")
#: The query parameter of ``file`` that asks for the uploaded bytes as they came.
ORIGINAL = "original"


def with_no_results_yet(image: Image) -> Image:
    """``image`` with its results read as a new image has them: empty, without asking the database (an
    empty queryset is still compiled on every read, a few milliseconds of each upload's time)."""
    cache: dict[str, QuerySet] = {}
    for name in RESULTS:
        empty = getattr(image, name).none()
        empty._result_cache, empty._prefetch_done = [], True
        cache[name] = empty
    # Where prefetch_related keeps what it read, and the related managers look first.
    image._prefetched_objects_cache = cache  # type: ignore[attr-defined]
    return image


class ImageViewSet(
    KnownQueryParamsOnly,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Images and their analysis results."""

    permission_classes = [ModelPermissions]
    parser_classes = PARSERS
    filterset_class = ImageFilter
    queryset = Image.objects.all()
    action_query_params = {"file": frozenset({ORIGINAL})}

    def get_queryset(self) -> QuerySet[Image]:
        faces = Prefetch("faces", queryset=Face.objects.select_related("person", "candidate"))
        if self.action == "list":
            return (
                Image.objects.select_related("collection")
                .annotate(face_count=Count("faces", filter=Q(faces__is_reference=False)))
                .prefetch_related(faces)
                .order_by("-created_at")
            )
        return Image.objects.select_related("collection").prefetch_related(
            "labels", "text_detections", "moderation_labels", faces, "deliveries__endpoint"
        )

    def get_throttles(self) -> list[BaseThrottle]:
        return throttled_as("upload") if self.action == "create" else super().get_throttles()

    def get_serializer_class(self) -> type[BaseSerializer]:
        return s.ImageSummarySerializer if self.action == "list" else s.ImageSerializer

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        audit_list(request, AuditEvent.Action.IMAGE_LIST)
        return response

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        image = self.get_object()
        audit_request(request, AuditEvent.Action.IMAGE_VIEW, image)
        return Response(self.get_serializer(image).data)

    @extend_schema(
        request={"multipart/form-data": s.ImageCreateSerializer, "application/json": s.ImageCreateSerializer},
        examples=examples.UPLOAD,
        responses={
            202: OpenApiResponse(s.ImageSerializer, description="Accepted: analysis runs in the background."),
            200: OpenApiResponse(s.ImageSerializer, description="The same bytes were uploaded before: that image."),
            400: VALIDATION_ERROR,
        },
    )
    def create(self, request: Request) -> Response:
        """Upload an image (multipart `file`, JSON `image_base64`, or JSON `url`); poll it until done or failed."""
        data = s.ImageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        common: dict[str, Any] = {
            "uploaded_by": request.user,
            "features": sorted(params.get("features", [])) or None,
            "collection": collection_named(name=params.get("collection")),
            "client_ip": request_ip(request),
        }
        if params.get("url"):
            upload = image_ingest_url(url=params["url"], **common)
        else:
            from_file = params.get("file") is not None
            upload = image_upload(
                data=params["file"] if from_file else params["image_base64"],
                source=Image.Source.UPLOAD if from_file else Image.Source.BASE64,
                filename=uploaded_filename(request),
                allow_duplicate=params["allow_duplicate"],
                **common,
            )
        # A new image has nothing found in it yet: no need to ask the database for its results.
        image = with_no_results_yet(upload.image) if upload.created else self.get_queryset().get(pk=upload.image.pk)
        body = s.ImageSerializer(image).data
        return Response(body, status=status.HTTP_202_ACCEPTED if upload.queued else status.HTTP_200_OK)

    def perform_destroy(self, instance: Image) -> None:
        image_delete(image=instance, actor=self.request.user, client_ip=request_ip(self.request))

    @extend_schema(
        parameters=[
            OpenApiParameter(
                ORIGINAL,
                bool,
                description="The uploaded bytes as they came, metadata included "
                "(needs the permission to download originals). By default, a clean rendition. True: true, 1 or "
                "yes; false: false, 0 or no; anything else is refused.",
            )
        ],
        responses={(200, "image/*"): bytes, 400: VALIDATION_ERROR},
    )
    @action(detail=True, methods=["get"])
    def file(self, request: Request, pk: str | None = None) -> HttpResponse | FileResponse:
        """The picture: upright, re-encoded without metadata (EXIF, GPS) or data appended to the file."""
        image = self.get_object()
        if not image.file:
            raise NotFound("This image has no stored file yet (a URL not fetched, or a failed fetch).")
        original = query_flag(request, ORIGINAL)
        if original and not request.user.has_perm("recognition.download_original_image"):
            raise PermissionDenied("You need the permission to download original images.")
        audit_request(request, AuditEvent.Action.IMAGE_DOWNLOAD, image, original=original)
        response: HttpResponse | FileResponse
        if original:
            response = FileResponse(image.open_stored(), content_type=image.content_type or "application/octet-stream")
        else:
            data, content_type = thumbnails.clean_rendition(image)
            response = HttpResponse(data, content_type=content_type)
        # Someone's picture: kept by no cache, and never run as a document whatever its bytes say.
        response["Cache-Control"] = "no-store"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["X-Content-Type-Options"] = "nosniff"
        return response
