from __future__ import annotations

import re
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from recognition.api.inputs import FeaturesField, ImageField
from recognition.api.strict import KnownFieldsOnly
from recognition.engines.base import FEATURES, BoundingBox
from recognition.models import (
    AuditEvent,
    Collection,
    Face,
    Image,
    Label,
    ModerationLabel,
    Person,
    PersonExport,
    TextDetection,
    Verification,
)
from recognition.services.exports import export_expired, export_expires_at
from recognition.text import single_line

SlugField = serializers.SlugRelatedField["Collection"]
THRESHOLD_HELP = "Similarity (0–100) from which a face counts as a match. Rekognition's default is 80."
CONFIDENCE_HELP = "How sure the engine is that this is a face, 0–100."


@extend_schema_field({"type": "string", "format": "binary", "description": "The image file (multipart)."})
class DocumentedImageField(ImageField):
    pass


@extend_schema_field({"type": "string", "format": "byte", "description": "The image as base64, or a data: URL."})
class Base64ImageField(ImageField):
    pass


class PersonRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    external_id = serializers.CharField(allow_null=True, help_text="Badge, RFID or employee code; null if none.")


class BoundingBoxSerializer(serializers.Serializer):
    left = serializers.FloatField(help_text="Ratio of the image's width.")
    top = serializers.FloatField(help_text="Ratio of the image's height.")
    width = serializers.FloatField(help_text="Ratio of the image's width.")
    height = serializers.FloatField(help_text="Ratio of the image's height.")


@extend_schema_field(BoundingBoxSerializer)
class BoxField(serializers.ReadOnlyField):
    """A ``BoundingBox`` as ratios of the image's width and height."""

    def to_representation(self, value: BoundingBox) -> dict[str, float]:
        return snake_keys(value.as_dict())


_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_keys(value: Any) -> Any:
    """Results are stored as Rekognition names them (``BoundingBox``, ``AgeRange.Low``); the REST API
    speaks snake_case throughout (``bounding_box``, ``age_range.low``). Values are left alone."""
    if isinstance(value, dict):
        return {_WORD_START.sub("_", str(key)).lower(): snake_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [snake_keys(item) for item in value]
    return value


@extend_schema_field({"type": "object", "additionalProperties": True})
class ResultField(serializers.ReadOnlyField):
    """A stored result (a JSON object or list) with its keys in snake_case."""

    def to_representation(self, value: Any) -> Any:
        return snake_keys(value)


@extend_schema_field({"type": "object", "nullable": True, "additionalProperties": True})
class OptionalResultField(ResultField):
    """A stored result that may be absent (null), e.g. image properties that were not asked for."""


class LandmarkSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="eyeLeft, eyeRight, nose, mouthLeft, mouthRight...")
    x = serializers.FloatField(help_text="Ratio of the image's width, from its left edge.")
    y = serializers.FloatField(help_text="Ratio of the image's height, from its top edge.")


@extend_schema_field(LandmarkSerializer(many=True))
class LandmarksField(ResultField):
    pass


class InstanceSerializer(serializers.Serializer):
    bounding_box = BoundingBoxSerializer()
    confidence = serializers.FloatField(help_text="How sure the engine is of this instance of the label, 0–100.")


@extend_schema_field(InstanceSerializer(many=True))
class InstancesField(ResultField):
    pass


# --- People and collections ---------------------------------------------------------------


class PersonSerializer(KnownFieldsOnly, serializers.ModelSerializer):
    """A person who can be enrolled and identified: name, external id (badge, RFID or employee code), consent."""

    external_id = serializers.CharField(
        max_length=128, required=False, allow_null=True, allow_blank=True, validators=[single_line],
        help_text="Badge, RFID or employee code; unique.",
    )  # fmt: skip
    reference_faces = serializers.IntegerField(
        read_only=True, source="reference_count", default=0, help_text="Enrolled faces that identify the person."
    )

    class Meta:
        model = Person
        fields = [
            "id",
            "name",
            "external_id",
            "notes",
            "consent_given_at",
            "watched",
            "reference_faces",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"notes": {"help_text": "Free text for the back office; never sent to endpoints."}}

    def validate_external_id(self, value):
        value = (value or "").strip() or None
        if value is not None:
            clash = Person.objects.filter(external_id=value)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError("Another person already has this external id.")
        return value


class CollectionSerializer(KnownFieldsOnly, serializers.ModelSerializer):
    """A collection: the enrolled faces searched together, and the threshold faces in its images are identified from."""

    match_threshold = serializers.FloatField(
        source="identify_threshold",
        read_only=True,
        help_text="Similarity from which faces in this collection's images are identified: the collection's own, "
        "set by an administrator from its calibration, or FACESITE_MATCH_THRESHOLD.",
    )

    class Meta:
        model = Collection
        fields = ["id", "name", "description", "match_threshold", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"description": {"help_text": "What the collection is for, in words."}}


class EnrolSerializer(KnownFieldsOnly):
    """A photo of the person, enrolled as a reference face: a multipart file or base64, one of them."""

    file = DocumentedImageField(required=False)
    image_base64 = Base64ImageField(required=False)
    collection = serializers.SlugField(required=False, help_text="Collection to enrol into (default: default).")

    def validate(self, attrs):
        return _one_image(attrs)


# --- Images ---------------------------------------------------------------------------------


class ImageCreateSerializer(KnownFieldsOnly):
    """An image to analyse (one of a multipart file, base64 or a URL), the analyses to run, the collection."""

    file = DocumentedImageField(required=False, help_text="The image (multipart).")
    image_base64 = Base64ImageField(required=False, help_text="The image as base64 (JSON).")
    url = serializers.URLField(required=False, max_length=2000, help_text="An http(s) URL the worker fetches.")
    features = FeaturesField(
        choices=FEATURES,
        required=False,
        help_text="Analyses to run; labels, faces and moderation by default. Form fields may also name several "
        "in one, separated by commas (labels,faces).",
    )
    collection = serializers.SlugField(required=False, help_text="Collection to identify faces against.")
    allow_duplicate = serializers.BooleanField(
        default=False,
        help_text="By default, bytes identical to an earlier upload in the same collection return that image "
        "(200) instead of creating a new one (202). Set true to always create a new image.",
    )

    def validate(self, attrs):
        given = [k for k in ("file", "image_base64", "url") if attrs.get(k) is not None]
        if len(given) != 1:
            raise serializers.ValidationError("Send exactly one of file, image_base64 or url.", code="image_required")
        return attrs


class LabelSerializer(serializers.ModelSerializer):
    instances = InstancesField(help_text="Where the labelled things are, with their confidence.")

    class Meta:
        model = Label
        fields = ["name", "confidence", "parents", "categories", "aliases", "instances"]
        extra_kwargs = {
            "parents": {"help_text": "Broader labels it belongs to (Vehicle for Car), as Rekognition names them."},
            "categories": {"help_text": "The label's categories in Rekognition's taxonomy."},
        }


class FaceSerializer(serializers.ModelSerializer):
    bounding_box = BoxField()
    landmarks = LandmarksField(help_text="Eyes, nose and mouth corners, as ratios of the image.")
    pose = ResultField(help_text="roll, yaw and pitch in degrees.")
    quality = ResultField(help_text="brightness and sharpness, 0–100.")
    attributes = ResultField(help_text="age_range, gender, emotions, smile... as the engine estimates them.")
    person = PersonRefSerializer(allow_null=True)
    candidate = PersonRefSerializer(allow_null=True)

    class Meta:
        model = Face
        fields = [
            "id", "bounding_box", "confidence", "landmarks", "pose", "quality", "attributes", "person", "candidate",
            "similarity", "review_state", "is_reference",
        ]  # fmt: skip


class TextDetectionSerializer(serializers.ModelSerializer):
    geometry = ResultField(help_text="bounding_box and polygon (points x, y), as ratios of the image.")

    class Meta:
        model = TextDetection
        fields = ["text", "type", "confidence", "detection_id", "parent_id", "geometry"]
        extra_kwargs = {
            "confidence": {"help_text": "How sure the engine is of the text, 0–100."},
            "text": {"help_text": "The text read: a LINE, or one WORD of a line."},
            "detection_id": {"help_text": "The detection's number within the image."},
            "parent_id": {"help_text": "For a WORD, the detection_id of its LINE; null for a line."},
        }


class ModerationLabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModerationLabel
        fields = ["name", "parent_name", "taxonomy_level", "confidence"]
        extra_kwargs = {
            "confidence": {"help_text": "How sure the engine is that the label applies, 0–100."},
            "parent_name": {"help_text": "The top-level category it falls under; empty for a top-level one."},
        }


class DeliverySummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    endpoint = serializers.CharField(source="endpoint.name", help_text="The endpoint's name.")
    event = serializers.CharField(help_text="image.analysed, person.identified, person.watched…")
    status = serializers.CharField(help_text="pending, delivering, delivered, retrying or dead.")
    attempts = serializers.IntegerField(help_text="Tries so far.")
    last_error = serializers.CharField(help_text="Why the last try failed; empty once delivered.")


@extend_schema_field({"type": "string", "format": "uri", "nullable": True, "readOnly": True})
class OptionalUrlField(serializers.ReadOnlyField):
    """A URL, or null when there is none (never an empty string)."""

    def to_representation(self, value):
        return value or None


class ImageSerializer(serializers.ModelSerializer):
    collection: serializers.SlugRelatedField[Collection] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    source_url = OptionalUrlField(help_text="Where a URL upload was fetched from.")
    labels = LabelSerializer(many=True, read_only=True, help_text="What the image shows, when labels were asked for.")
    faces = FaceSerializer(
        many=True, read_only=True, help_text="The faces found, and reference faces enrolled from it."
    )
    text_detections = TextDetectionSerializer(
        many=True, read_only=True, help_text="Lines and words, when text was asked for."
    )
    moderation_labels = ModerationLabelSerializer(
        many=True, read_only=True, help_text="Unsafe content found, when moderation was asked for."
    )
    properties = OptionalResultField(help_text="quality and dominant_colors, when properties were asked for.")
    deliveries = DeliverySummarySerializer(many=True, read_only=True, help_text="Its results sent to endpoints.")

    class Meta:
        model = Image
        fields = [
            "id", "status", "error", "sha256", "size_bytes", "width", "height", "content_type", "original_filename",
            "source", "source_url", "collection", "features", "attempts", "engine", "model_version", "created_at",
            "analysed_at", "labels", "faces", "text_detections", "moderation_labels", "properties", "deliveries",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "error": {"help_text": "Why the analysis failed, when it did."},
            "sha256": {
                "help_text": "Of the bytes: the same bytes sent to the collection again answer this image "
                "(unless allow_duplicate)."
            },
            "size_bytes": {"help_text": "The file's size."},
            "width": {"help_text": "Pixels, upright (after the photo's EXIF orientation)."},
            "height": {"help_text": "Pixels, upright (after the photo's EXIF orientation)."},
            "content_type": {"help_text": "As read from the bytes (image/jpeg, image/png…), not as sent."},
            "original_filename": {"help_text": "The name it was sent under, or the URL's last part."},
            "engine": {"help_text": "The recognition engine that analysed it: local or rekognition."},
            "model_version": {"help_text": "The engine's models when it analysed it."},
            "analysed_at": {"help_text": "When the analysis finished; null until then."},
        }


class ImageSummarySerializer(serializers.ModelSerializer):
    collection: serializers.SlugRelatedField[Collection] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    faces = serializers.IntegerField(
        source="face_count",
        read_only=True,
        help_text="Faces the analysis found. Reference faces enrolled from the image are not counted (an enrolment "
        "photo counts 0); the image's own page lists both, marked is_reference.",
    )
    people = serializers.SerializerMethodField(help_text="The people identified in it.")

    class Meta:
        model = Image
        fields = ["id", "status", "source", "original_filename", "collection", "created_at", "analysed_at", "faces",
                  "people"]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = ImageSerializer.Meta.extra_kwargs  # the same fields, said the same way

    @extend_schema_field(PersonRefSerializer(many=True))
    def get_people(self, image: Image):
        seen = {}
        for face in image.faces.all():
            if face.person is not None:
                seen[face.person.pk] = face.person
        return PersonRefSerializer(seen.values(), many=True).data


# --- Synchronous checks ----------------------------------------------------------------------


class SearchSerializer(KnownFieldsOnly):
    """A photo whose faces are searched among the people enrolled in a collection, answered at once."""

    file = DocumentedImageField(required=False)
    image_base64 = Base64ImageField(required=False)
    collection = serializers.SlugField(
        required=False, help_text="Search among this collection's people (default: default)."
    )
    threshold = serializers.FloatField(default=80.0, min_value=0, max_value=100, help_text=THRESHOLD_HELP)
    max_matches = serializers.IntegerField(
        default=5, min_value=1, max_value=100, help_text="People answered per face, at most."
    )

    def validate(self, attrs):
        return _one_image(attrs)


class MatchSerializer(serializers.Serializer):
    person = PersonRefSerializer()
    similarity = serializers.FloatField(help_text="How alike the face and the person's are, 0–100.")
    face_id = serializers.UUIDField(
        source="face.pk",
        allow_null=True,
        default=None,
        help_text="The person's reference face that matched best (null where the engine does not say: Rekognition).",
    )


class SearchFaceSerializer(serializers.Serializer):
    bounding_box = BoxField()
    confidence = serializers.FloatField(help_text=CONFIDENCE_HELP)
    matches = MatchSerializer(many=True, help_text="People at the threshold or above, most alike first.")


class SearchResultSerializer(serializers.Serializer):
    threshold = serializers.FloatField(help_text="The similarity (0–100) the matches reach at least.")
    faces = SearchFaceSerializer(many=True, help_text="Every face in the photo, largest first.")


class VerifySerializer(KnownFieldsOnly):
    """A badge number and a photo of whoever presents it: is it the badge holder (their reference face)?"""

    external_id = serializers.CharField(
        max_length=128, validators=[single_line], help_text="The badge or card number presented."
    )
    file = DocumentedImageField(required=False)
    image_base64 = Base64ImageField(required=False)
    threshold = serializers.FloatField(default=80.0, min_value=0, max_value=100, help_text=THRESHOLD_HELP)

    def validate(self, attrs):
        return _one_image(attrs)


@extend_schema_field(BoundingBoxSerializer(allow_null=True))
class StoredBoxField(ResultField):
    """A box stored as Rekognition names it, served in snake_case."""


class VerificationSerializer(serializers.ModelSerializer):
    verification_id = serializers.UUIDField(source="id", help_text="The check's id on the audit trail.")
    bounding_box = StoredBoxField(help_text="The face compared with the badge holder's; null when there was none.")
    person = PersonRefSerializer(allow_null=True)
    outcome = serializers.ChoiceField(
        choices=Verification.Outcome.choices,
        help_text="match; no_match; unknown_badge; no_reference (badge holder not enrolled); no_face; several_faces; "
        "not_live (the head-turn challenge was not passed).",
    )

    class Meta:
        model = Verification
        fields = [
            "verification_id", "match", "outcome", "similarity", "threshold", "person", "bounding_box", "created_at",
        ]  # fmt: skip
        extra_kwargs = {
            "match": {"help_text": "Whether the face is the badge holder's: outcome is match."},
            "similarity": {"help_text": "How alike the face and the badge holder's are, 0–100; null when no face "
                                        "was compared."},
            "threshold": {"help_text": "The similarity (0–100) a match needed."},
        }  # fmt: skip


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name", help_text="The user's name; empty for Facesite itself.")
    action_label = serializers.CharField(source="get_action_display", help_text="The action in words.")

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "action", "action_label", "object_type", "object_id", "client_ip",
                  "details", "repeats", "last_at"]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "object_type": {"help_text": "What kind of thing it was about: image, person, face, video…"},
            "object_id": {"help_text": "Which one (its id); empty when about no one thing."},
            "client_ip": {"help_text": "The address the request came from; null for Facesite's own work."},
            "details": {"help_text": "What else the action recorded: its parameters, counts, the credential used."},
        }


class PersonExportSerializer(serializers.ModelSerializer):
    person = PersonRefSerializer(read_only=True)
    size = serializers.IntegerField(read_only=True, allow_null=True, help_text="Bytes, once ready.")
    error = serializers.CharField(read_only=True, help_text="Why it could not be made, when it failed.")
    expires_at = serializers.SerializerMethodField(help_text="When the zip is deleted (FACESITE_RETAIN_EXPORTS_DAYS).")
    download = serializers.SerializerMethodField(
        help_text="Where to download the zip while it is ready; null before, and once it has expired."
    )

    class Meta:
        model = PersonExport
        fields = ["id", "person", "status", "error", "size", "created_at", "finished_at", "expires_at", "download"]
        read_only_fields = fields
        extra_kwargs = {"finished_at": {"help_text": "When it was made, or failed; null until then."}}

    @extend_schema_field(serializers.DateTimeField())
    def get_expires_at(self, export: PersonExport) -> str:
        return serializers.DateTimeField().to_representation(export_expires_at(export))

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download(self, export: PersonExport) -> str | None:
        if export.status != PersonExport.Status.READY or export_expired(export):
            return None
        return self.context["request"].build_absolute_uri(reverse("person-export-download", args=[export.pk]))


class CompareSerializer(KnownFieldsOnly):
    """Two photos: the largest face of the first compared with every face of the second."""

    # The public name of the field; DRF's metaclass takes it out of the class, so Field.source is untouched.
    source = DocumentedImageField(help_text="Image whose largest face is compared.")  # type: ignore[assignment]
    target = DocumentedImageField(help_text="Image whose every face is compared with it.")
    threshold = serializers.FloatField(default=80.0, min_value=0, max_value=100, help_text=THRESHOLD_HELP)


class ComparedFaceSerializer(serializers.Serializer):
    bounding_box = BoxField()
    confidence = serializers.FloatField(help_text=CONFIDENCE_HELP)
    similarity = serializers.FloatField(help_text="How alike this face and the source face are, 0–100.")
    match = serializers.BooleanField(help_text="Whether the similarity reaches the threshold.")


class DetectedFaceSerializer(serializers.Serializer):
    bounding_box = BoxField()
    confidence = serializers.FloatField(help_text=CONFIDENCE_HELP)


class ComparisonSerializer(serializers.Serializer):
    source_face = DetectedFaceSerializer(help_text="The largest face of the source image.")
    faces = ComparedFaceSerializer(many=True, help_text="Every face of the target image, most alike first.")
    threshold = serializers.FloatField(help_text="The similarity (0–100) a match needs.")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words for a person.")
    code = serializers.CharField(required=False, help_text="The same for a program: no_face, too_large…")


def _one_image(attrs):
    given = [k for k in ("file", "image_base64") if attrs.get(k) is not None]
    if len(given) != 1:
        raise serializers.ValidationError("Send the image as file (multipart) or image_base64 (JSON).")
    attrs["image"] = attrs.pop(given[0])
    attrs.pop("file", None)
    attrs.pop("image_base64", None)
    return attrs
