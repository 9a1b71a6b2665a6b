from rest_framework import serializers

from recognition.engines.base import FEATURES
from recognition.models import Face, Image, Label, ModerationLabel, TextDetection


class ImageUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The image: JPEG, PNG, WebP, GIF (first frame), BMP or TIFF.")
    features = serializers.MultipleChoiceField(
        choices=FEATURES, required=False, help_text="Analyses to run; labels, faces and moderation by default."
    )
    collection = serializers.SlugField(required=False, help_text="Collection to identify faces against.")


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["name", "confidence", "parents", "categories", "instances"]


class PersonRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    external_id = serializers.CharField(allow_null=True)


class FaceSerializer(serializers.ModelSerializer):
    bounding_box = serializers.SerializerMethodField()
    person = PersonRefSerializer(allow_null=True)
    candidate = PersonRefSerializer(allow_null=True)

    class Meta:
        model = Face
        fields = [
            "id",
            "bounding_box",
            "confidence",
            "landmarks",
            "pose",
            "quality",
            "attributes",
            "person",
            "candidate",
            "similarity",
            "review_state",
        ]

    def get_bounding_box(self, face: Face) -> dict[str, float]:
        return {"Left": face.left, "Top": face.top, "Width": face.width, "Height": face.height}


class TextDetectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = TextDetection
        fields = ["text", "type", "confidence", "detection_id", "parent_id", "geometry"]


class ModerationLabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModerationLabel
        fields = ["name", "parent_name", "confidence"]


class ImageSerializer(serializers.ModelSerializer):
    collection = serializers.SlugRelatedField(slug_field="name", read_only=True)
    labels = LabelSerializer(many=True, read_only=True)
    faces = FaceSerializer(many=True, read_only=True)
    text_detections = TextDetectionSerializer(many=True, read_only=True)
    moderation_labels = ModerationLabelSerializer(many=True, read_only=True)

    class Meta:
        model = Image
        fields = [
            "id",
            "status",
            "error",
            "sha256",
            "size_bytes",
            "width",
            "height",
            "content_type",
            "original_filename",
            "source",
            "collection",
            "features",
            "attempts",
            "engine",
            "model_version",
            "created_at",
            "analysed_at",
            "labels",
            "faces",
            "text_detections",
            "moderation_labels",
        ]
        read_only_fields = fields
