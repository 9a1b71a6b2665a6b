"""Enrolled people, their reference faces, and face collections."""

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import filters, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import BaseThrottle

from recognition.api import examples
from recognition.api import serializers as s
from recognition.api.common import ENGINE_UNAVAILABLE, PARSERS, VALIDATION_ERROR, throttled_as, uploaded_filename
from recognition.api.filters import PersonFilter
from recognition.api.permissions import ModelPermissions, require
from recognition.api.strict import KnownQueryParamsOnly
from recognition.audit import audit_list, audit_request, request_ip
from recognition.models import AuditEvent, Collection, Face, Person
from recognition.services.access import ENROL
from recognition.services.collections import collection_create, collection_named
from recognition.services.erasure import person_erase, reference_face_remove
from recognition.services.exports import export_request
from recognition.services.people import person_enroll, person_save
from recognition.services.subject_access import EXPORT, ZIP, export_filename, person_export


class PersonViewSet(KnownQueryParamsOnly, viewsets.ModelViewSet):
    """Enrolled people: name, badge (external id), consent, and reference faces."""

    permission_classes = [ModelPermissions]
    serializer_class = s.PersonSerializer
    filterset_class = PersonFilter
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["name", "external_id", "notes"]
    ordering_fields = ["name", "created_at"]
    parser_classes = PARSERS

    def get_throttles(self) -> list[BaseThrottle]:
        enrolling = self.action == "faces" and self.request.method == "POST"
        return throttled_as("enrol") if enrolling else super().get_throttles()

    def get_queryset(self) -> QuerySet[Person]:
        return Person.objects.annotate(reference_count=Count("faces", filter=Q(faces__is_reference=True))).order_by(
            "name", "pk"
        )

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        audit_list(request, AuditEvent.Action.PERSON_LIST)
        return response

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        person = self.get_object()
        audit_request(request, AuditEvent.Action.PERSON_VIEW, person)
        return Response(self.get_serializer(person).data)

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = person_save(
            person=Person(), changes=serializer.validated_data, actor=self.request.user,
            client_ip=request_ip(self.request),
        )  # fmt: skip

    def perform_update(self, serializer: BaseSerializer) -> None:
        assert isinstance(serializer.instance, Person)
        serializer.instance = person_save(
            person=serializer.instance, changes=serializer.validated_data, actor=self.request.user,
            client_ip=request_ip(self.request),
        )  # fmt: skip

    @extend_schema(description="Erase the person: reference faces and photos, faces matched to them, and their "
                               "entries in engine collections; badge and name become a pseudonym in verification "
                               "records, the admin log and outgoing documents.")  # fmt: skip
    def destroy(self, request: Request, *args, **kwargs) -> Response:
        person_erase(person=self.get_object(), actor=request.user, client_ip=request_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], responses=s.FaceSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": s.EnrolSerializer, "application/json": s.EnrolSerializer},
        responses={201: s.FaceSerializer, 400: VALIDATION_ERROR, 422: s.ErrorSerializer, 503: ENGINE_UNAVAILABLE},
        examples=[examples.ENROL_REFUSED],
        description="Enrol a reference photo (synchronous, like IndexFaces). 422 with a reason when the photo "
        "has no face, several faces, or a face too small or blurry.",
    )
    # A plain list of a person's few reference faces, neither filtered nor paged, as the schema must say.
    @action(detail=True, methods=["get", "post"], url_path="faces", filter_backends=[], pagination_class=None)
    def faces(self, request: Request, pk: str | None = None) -> Response:
        person = self.get_object()
        if request.method == "GET":
            faces = person.faces.references().select_related("person", "candidate")
            audit_list(request, AuditEvent.Action.FACE_LIST, person=str(person.pk), references=True)
            return Response(s.FaceSerializer(faces, many=True).data)
        if not request.user.has_perm(ENROL):
            self.permission_denied(request, message="You need the permission to enrol reference faces.")
        data = s.EnrolSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        face = person_enroll(
            person=person,
            data=data.validated_data["image"],
            collection=collection_named(name=data.validated_data.get("collection")),
            uploaded_by=request.user,
            filename=uploaded_filename(request),
            client_ip=request_ip(request),
        )
        return Response(s.FaceSerializer(face).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            422: OpenApiResponse(s.ErrorSerializer, description="Seen more often than an export made while you wait "
                                 "holds (`export_too_large`, FACESITE_EXPORT_WEB_MAX_SIGHTINGS): have it made "
                                 "in the background (POST /api/people/{id}/exports/) or with manage.py "
                                 "export_person."),
        },
        description="Everything held about the person, for a subject access request: one zip file with their "
        "record, reference photos, the faces matched to them (crops of their own face) and their badge checks, "
        "with a README.txt. Audited as person.export.",
    )  # fmt: skip
    @action(detail=True, methods=["get"], permission_classes=[require(EXPORT)], filter_backends=[],
            pagination_class=None)  # fmt: skip
    def export(self, request: Request, pk: str | None = None) -> FileResponse:
        person = self.get_object()
        archive = person_export(person=person, actor=request.user, client_ip=request_ip(request),
                                most_sightings=settings.FACESITE_EXPORT_WEB_MAX_SIGHTINGS)  # fmt: skip
        return FileResponse(archive, as_attachment=True, filename=export_filename(person), content_type=ZIP)

    @extend_schema(
        request=None,
        responses={202: s.PersonExportSerializer},
        description="Have the export made in the background, for a person seen more often than an export made "
        "while you wait holds: 202 with the export, whose `download` is set once it is ready (poll the `Location`, "
        "/api/exports/{id}/). Asking again while one is being made answers that one. Audited as "
        "person.export.request.",
    )
    @action(detail=True, methods=["post"], permission_classes=[require(EXPORT)], filter_backends=[],
            pagination_class=None)  # fmt: skip
    def exports(self, request: Request, pk: str | None = None) -> Response:
        export = export_request(person=self.get_object(), actor=request.user, client_ip=request_ip(request))
        data = s.PersonExportSerializer(export, context={"request": request}).data
        location = request.build_absolute_uri(reverse("person-export-detail", args=[export.pk]))
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})

    @extend_schema(
        responses={204: None},
        parameters=[OpenApiParameter("face_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                                     description="The reference face's id, as the person's faces list it.")],
    )  # fmt: skip
    @action(detail=True, methods=["delete"], url_path=r"faces/(?P<face_id>[0-9a-f-]{36})")
    def remove_face(self, request: Request, pk: str | None = None, face_id: str | None = None) -> Response:
        """Remove one reference face (from the collection, the database and storage)."""
        person = self.get_object()
        if not request.user.has_perm("recognition.delete_face"):
            self.permission_denied(request, message="You need the permission to delete faces.")
        face = Face.objects.references().filter(pk=face_id, person=person).select_related("image").first()
        if face is None:
            raise NotFound("This person has no reference face with that id.")
        reference_face_remove(face=face, actor=request.user, client_ip=request_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CollectionViewSet(KnownQueryParamsOnly, mixins.ListModelMixin, mixins.CreateModelMixin,
                        mixins.RetrieveModelMixin, viewsets.GenericViewSet):  # fmt: skip
    """Face collections that images are identified against."""

    permission_classes = [ModelPermissions]
    serializer_class = s.CollectionSerializer
    queryset = Collection.objects.order_by("name")

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = collection_create(
            **serializer.validated_data, actor=self.request.user, client_ip=request_ip(self.request)
        )
