"""Subject access exports made in the background: their state, their zip, and deleting them early."""

from django.db.models import QuerySet
from django.http import FileResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from recognition.api import serializers as s
from recognition.api.filters import PersonExportFilter
from recognition.api.permissions import require
from recognition.api.strict import KnownQueryParamsOnly
from recognition.audit import request_ip
from recognition.models import PersonExport
from recognition.services.exports import export_delete, export_open
from recognition.services.subject_access import EXPORT, ZIP, export_filename


class PersonExportViewSet(KnownQueryParamsOnly, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          mixins.DestroyModelMixin, viewsets.GenericViewSet):  # fmt: skip
    """Exports of everything held about a person, made in the background (``POST /api/people/{id}/exports/``)
    for people seen too often to export while a request waits; each is deleted when it expires."""

    permission_classes = [require(EXPORT)]
    serializer_class = s.PersonExportSerializer
    filterset_class = PersonExportFilter
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self) -> QuerySet[PersonExport]:
        return PersonExport.objects.select_related("person").order_by("-created_at", "pk")

    @extend_schema(description="Delete the export and its zip before it expires.")
    def destroy(self, request: Request, *args, **kwargs) -> Response:
        export_delete(export=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            409: OpenApiResponse(s.ErrorSerializer, description="Not ready: still being made (`export_pending`), "
                                 "failed (`export_failed`) or expired (`export_expired`)."),
        },
        description="The zip, once the export is ready. Audited as person.export.download.",
    )  # fmt: skip
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def download(self, request: Request, pk: str | None = None) -> FileResponse:
        export = self.get_object()
        archive = export_open(export=export, actor=request.user, client_ip=request_ip(request))
        return FileResponse(archive, as_attachment=True, filename=export_filename(export.person), content_type=ZIP)
