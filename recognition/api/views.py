"""The REST API: thin views over recognition.services."""

from django.db.models import Count, Prefetch, Q
from django.http import FileResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import filters, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from recognition import services
from recognition.api import examples
from recognition.api import serializers as s
from recognition.api.filters import ImageFilter, PersonFilter
from recognition.api.permissions import ModelPermissions, require
from recognition.audit import audit_record, request_ip
from recognition.engines.base import EngineError
from recognition.models import Collection, Face, Image, Person
from recognition.validation import ImageRejected

PARSERS = [MultiPartParser, FormParser, JSONParser]
VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Bad input: a map of field names (or non_field_errors) to lists of messages, "
    'e.g. {"file": ["Image data is corrupt or truncated: ..."]}.',
)


def collection_named(name: str | None) -> Collection:
    if not name:
        return Collection.get_default()
    collection = Collection.objects.filter(name=name).first()
    if collection is None:
        raise ValidationError({"collection": [f"No collection is named {name!r}."]})
    return collection


def rejected(exc: ImageRejected, field: str = "file") -> ValidationError:
    return ValidationError({field: [exc.message]}, code=exc.code)


class UnprocessableEntity(ValidationError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


# --- Images --------------------------------------------------------------------------------


class ImageViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Images and their analysis results."""

    permission_classes = [ModelPermissions]
    parser_classes = PARSERS
    filterset_class = ImageFilter
    queryset = Image.objects.all()

    def get_queryset(self):
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

    def get_serializer_class(self):
        return s.ImageListSerializer if self.action == "list" else s.ImageSerializer

    def retrieve(self, request, *args, **kwargs):
        image = self.get_object()
        audit_record(actor=request.user, action="image.view", target=image, client_ip=request_ip(request))
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
    def create(self, request):
        """Upload an image (multipart `file`, JSON `image_base64`, or JSON `url`); poll it until done or failed."""
        data = s.ImageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        collection = collection_named(params.get("collection"))
        features = sorted(params.get("features", [])) or None
        created = True
        try:
            if params.get("url"):
                image = services.image_ingest_url(
                    url=params["url"], uploaded_by=request.user, features=features, collection=collection
                )
            else:
                field = "file" if params.get("file") is not None else "image_base64"
                upload = request.data.get("file")
                image = (
                    None
                    if params["allow_duplicate"]
                    else services.image_find_duplicate(data=params[field], collection=collection)
                )
                created = image is None
                if created:
                    image = services.image_ingest(
                        data=params[field],
                        source=Image.Source.UPLOAD if field == "file" else Image.Source.BASE64,
                        filename=getattr(upload, "name", "") or "",
                        uploaded_by=request.user,
                        features=features,
                        collection=collection,
                    )
        except ImageRejected as exc:
            field = "url" if params.get("url") else "file" if params.get("file") is not None else "image_base64"
            raise rejected(exc, field) from exc
        audit_record(actor=request.user, action="image.upload", target=image, client_ip=request_ip(request),
                     created=created)  # fmt: skip
        body = s.ImageSerializer(self.get_queryset().get(pk=image.pk)).data
        return Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)

    def perform_destroy(self, image):
        services.image_delete(image=image, actor=self.request.user, client_ip=request_ip(self.request))

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        """The stored image bytes."""
        image = self.get_object()
        if not image.file:
            raise NotFound("This image has no stored file yet (a URL not fetched, or a failed fetch).")
        audit_record(actor=request.user, action="image.download", target=image, client_ip=request_ip(request))
        return FileResponse(image.file.open("rb"), content_type=image.content_type or "application/octet-stream")


# --- People --------------------------------------------------------------------------------


class PersonViewSet(viewsets.ModelViewSet):
    """Enrolled people: name, badge (external id), consent, and reference faces."""

    permission_classes = [ModelPermissions]
    serializer_class = s.PersonSerializer
    filterset_class = PersonFilter
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["name", "external_id", "notes"]
    ordering_fields = ["name", "created_at"]
    parser_classes = PARSERS

    def get_queryset(self):
        return Person.objects.annotate(reference_count=Count("faces", filter=Q(faces__is_reference=True))).order_by(
            "name", "pk"
        )

    def retrieve(self, request, *args, **kwargs):
        person = self.get_object()
        audit_record(actor=request.user, action="person.view", target=person, client_ip=request_ip(request))
        return Response(self.get_serializer(person).data)

    def perform_create(self, serializer):
        person = serializer.save()
        audit_record(actor=self.request.user, action="person.create", target=person, client_ip=request_ip(self.request))

    def perform_update(self, serializer):
        person = serializer.save()
        audit_record(actor=self.request.user, action="person.update", target=person, client_ip=request_ip(self.request),
                     fields=sorted(serializer.validated_data))  # fmt: skip

    @extend_schema(description="Erase the person: reference faces and photos, faces matched to them, and their "
                               "entries in engine collections. Verification records keep only the badge.")  # fmt: skip
    def destroy(self, request, *args, **kwargs):
        services.person_erase(person=self.get_object(), actor=request.user, client_ip=request_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], responses=s.FaceSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": s.EnrolSerializer, "application/json": s.EnrolSerializer},
        responses={201: s.FaceSerializer, 400: VALIDATION_ERROR, 422: s.ErrorSerializer},
        examples=[examples.ENROL_REFUSED],
        description="Enrol a reference photo (synchronous, like IndexFaces). 422 with a reason when the photo "
        "has no face, several faces, or a face too small or blurry.",
    )
    @action(detail=True, methods=["get", "post"], url_path="faces")
    def faces(self, request, pk=None):
        person = self.get_object()
        if request.method == "GET":
            faces = person.faces.filter(is_reference=True).select_related("person", "candidate")
            return Response(s.FaceSerializer(faces, many=True).data)
        if not request.user.has_perm("recognition.enroll_person"):
            self.permission_denied(request, message="You need the permission to enrol reference faces.")
        data = s.EnrolSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            face = services.person_enroll(
                person=person,
                data=data.validated_data["image"],
                collection=collection_named(data.validated_data.get("collection")),
                uploaded_by=request.user,
                filename=getattr(request.data.get("file"), "name", "") or "",
            )
        except ImageRejected as exc:
            raise rejected(exc) from exc
        except services.EnrolmentError as exc:
            raise UnprocessableEntity({"detail": exc.message, "code": exc.code}) from exc
        audit_record(actor=request.user, action="person.enrol", target=face, client_ip=request_ip(request),
                     person=str(person.pk))  # fmt: skip
        return Response(s.FaceSerializer(face).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"faces/(?P<face_id>[0-9a-f-]{36})")
    def remove_face(self, request, pk=None, face_id=None):
        """Remove one reference face (from the collection, the database and storage)."""
        person = self.get_object()
        if not request.user.has_perm("recognition.delete_face"):
            self.permission_denied(request, message="You need the permission to delete faces.")
        face = Face.objects.filter(pk=face_id, person=person, is_reference=True).select_related("image").first()
        if face is None:
            raise NotFound("This person has no reference face with that id.")
        services.reference_face_remove(face=face, actor=request.user, client_ip=request_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CollectionViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):  # fmt: skip
    """Face collections that images are identified against."""

    permission_classes = [ModelPermissions]
    serializer_class = s.CollectionSerializer
    queryset = Collection.objects.order_by("name")


# --- Synchronous checks ----------------------------------------------------------------------


class SyncView(APIView):
    parser_classes = PARSERS
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "sync"


class SearchView(SyncView):
    permission_classes = [require("recognition.search_faces")]

    @extend_schema(
        request={"multipart/form-data": s.SearchRequestSerializer, "application/json": s.SearchRequestSerializer},
        examples=examples.SEARCH,
        responses={200: s.SearchResponseSerializer, 400: VALIDATION_ERROR},
    )
    def post(self, request):
        """Find every face in the image and the enrolled people it matches (synchronous)."""
        data = s.SearchRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        try:
            results = services.faces_search(
                data=params["image"],
                collection=collection_named(params.get("collection")),
                threshold=params["threshold"],
                max_matches=params["max_matches"],
                actor=request.user,
                client_ip=request_ip(request),
            )
        except ImageRejected as exc:
            raise rejected(exc, "image") from exc
        faces = [
            {
                "bounding_box": _box(r.face.bounding_box),
                "confidence": r.face.confidence,
                "matches": [{"person": _person(p), "similarity": sim} for p, sim in r.matches],
            }
            for r in results
        ]
        return Response({"threshold": params["threshold"], "faces": faces})


class VerifyView(SyncView):
    permission_classes = [require("recognition.verify_person")]

    @extend_schema(
        request={"multipart/form-data": s.VerifyRequestSerializer, "application/json": s.VerifyRequestSerializer},
        examples=examples.VERIFY,
        responses={200: s.VerifyResponseSerializer, 400: VALIDATION_ERROR},
    )
    def post(self, request):
        """Badge + face: is the person in the photo the holder of this badge? Every call is recorded."""
        data = s.VerifyRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        try:
            verification = services.person_verify(
                external_id=params["external_id"].strip(),
                data=params["image"],
                threshold=params["threshold"],
                actor=request.user,
                client_ip=request_ip(request),
            )
        except ImageRejected as exc:
            raise rejected(exc, "image") from exc
        return Response(s.VerifyResponseSerializer(verification).data)


class CompareView(SyncView):
    permission_classes = [require("recognition.search_faces")]

    @extend_schema(
        request={"multipart/form-data": s.CompareRequestSerializer, "application/json": s.CompareRequestSerializer},
        examples=examples.COMPARE,
        responses={200: s.CompareResponseSerializer, 400: VALIDATION_ERROR, 422: s.ErrorSerializer},
    )
    def post(self, request):
        """Similarity of the largest face in `source` to each face in `target`."""
        data = s.CompareRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        try:
            result = services.faces_compare(
                source=params["source"], target=params["target"], threshold=params["threshold"],
                actor=request.user, client_ip=request_ip(request),
            )  # fmt: skip
        except ImageRejected as exc:
            raise ValidationError({"detail": exc.message}, code=exc.code) from exc
        except EngineError as exc:
            raise UnprocessableEntity({"detail": exc.message, "code": "no_face"}) from exc
        threshold = params["threshold"]
        compared = [*result.matches, *result.unmatched]
        return Response(
            {
                "source_face": {**_face(result.source_face), "similarity": 100.0, "match": True},
                "faces": [
                    {**_face(c.face), "similarity": c.similarity, "match": c.similarity >= threshold} for c in compared
                ],
                "threshold": threshold,
            }
        )


def _box(box) -> dict[str, float]:
    return {"Left": box.left, "Top": box.top, "Width": box.width, "Height": box.height}


def _face(face) -> dict:
    return {"bounding_box": _box(face.bounding_box), "confidence": face.confidence}


def _person(person: Person) -> dict:
    return {"id": str(person.pk), "name": person.name, "external_id": person.external_id}
