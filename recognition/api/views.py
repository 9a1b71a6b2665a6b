from django.db.models import Prefetch
from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from recognition import services
from recognition.api.serializers import ImageSerializer, ImageUploadSerializer
from recognition.models import Collection, Face, Image
from recognition.validation import ImageRejected, check_size


class ImageViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ImageSerializer
    filterset_fields = ["status", "source"]
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        return (
            Image.objects.select_related("collection")
            .prefetch_related(
                "labels",
                "text_detections",
                "moderation_labels",
                Prefetch("faces", queryset=Face.objects.select_related("person", "candidate")),
            )
            .order_by("-created_at")
        )

    @extend_schema(request={"multipart/form-data": ImageUploadSerializer}, responses={202: ImageSerializer})
    def create(self, request):
        """Upload an image; analysis runs in the background. Poll the image until its status is done or failed."""
        upload_serializer = ImageUploadSerializer(data=request.data)
        upload_serializer.is_valid(raise_exception=True)
        upload = upload_serializer.validated_data["file"]
        collection = None
        if name := upload_serializer.validated_data.get("collection"):
            collection = Collection.objects.filter(name=name).first()
            if collection is None:
                raise ValidationError({"collection": [f"No collection is named {name!r}."]})
        try:
            check_size(upload.size)  # before reading a byte of it into memory
            image = services.image_ingest(
                data=upload.read(),
                filename=upload.name or "",
                uploaded_by=request.user,
                features=sorted(upload_serializer.validated_data.get("features", [])) or None,
                collection=collection,
            )
        except ImageRejected as exc:
            raise ValidationError({"file": [exc.message]}, code=exc.code) from exc
        return Response(self.get_serializer(self.get_queryset().get(pk=image.pk)).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        """The stored image bytes."""
        image = self.get_object()
        return FileResponse(image.file.open("rb"), content_type=image.content_type or "application/octet-stream")
