"""Access keys for signed requests, Rekognition's users as Facesite people, collections' tags, and Rekognition
Video's jobs as Facesite videos."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from recognition import secrets
from recognition.models import Collection, Person
from videos.models import Video

SECRET_PURPOSE = b"facesite rekognition-api secret access keys"


class AccessKey(models.Model):
    """An AWS-style key pair for one Facesite user. SigV4 signs with the secret itself, so the secret is
    kept encrypted (``recognition.secrets``), not hashed: verifying a signature needs it back."""

    access_key_id = models.CharField(max_length=32, unique=True)
    secret_encrypted = models.TextField(editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_keys")
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive keys are refused.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API access key"

    def __str__(self) -> str:
        return self.access_key_id

    @property
    def secret(self) -> str:
        return secrets.unseal(self.secret_encrypted, purpose=SECRET_PURPOSE)

    @secret.setter
    def secret(self, plain: str) -> None:
        self.secret_encrypted = secrets.seal(plain, purpose=SECRET_PURPOSE)


class CollectionUser(models.Model):
    """A Rekognition user (``UserId``) of a collection: a Facesite person, whose reference faces in that
    collection are the user's faces."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="+")
    user_id = models.CharField(max_length=128)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["collection", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "user_id"], name="unique_user_id_per_collection"),
            models.UniqueConstraint(fields=["collection", "person"], name="one_user_per_person_per_collection"),
        ]

    def __str__(self) -> str:
        return f"{self.collection}/{self.user_id}"


class CollectionTag(models.Model):
    """A tag (key and value) on a collection, as Rekognition's TagResource puts one: what infrastructure code
    (Terraform, CloudFormation) sets and reads back on the collections it manages."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    value = models.CharField(max_length=256, blank=True)

    class Meta:
        ordering = ["collection", "key"]
        constraints = [models.UniqueConstraint(fields=["collection", "key"], name="one_value_per_tag_key")]

    def __str__(self) -> str:
        return f"{self.collection}: {self.key}={self.value}"


class VideoJob(models.Model):
    """A Rekognition Video job (StartFaceSearch, StartFaceDetection, StartLabelDetection, StartContentModeration,
    StartTextDetection): the Facesite video it analyses (its id is the ``JobId``), and what the call asked of the
    results."""

    class Kind(models.TextChoices):
        FACE_SEARCH = "face_search", "Face search"
        FACE_DETECTION = "face_detection", "Face detection"
        LABEL_DETECTION = "label_detection", "Label detection"
        CONTENT_MODERATION = "content_moderation", "Content moderation"
        TEXT_DETECTION = "text_detection", "Text detection"

    video = models.OneToOneField(Video, on_delete=models.CASCADE, primary_key=True, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    #: The same token from the same user starts no second job: the first one's id is answered again.
    client_request_token = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.FACE_SEARCH)
    job_tag = models.CharField(max_length=1024, blank=True)
    face_match_threshold = models.FloatField(default=80.0)
    settings = models.JSONField(
        default=dict, blank=True,
        help_text="The filters its Get applies: StartLabelDetection's Settings.GeneralLabels, StartTextDetection's "
        "Filters.",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_request_token"], condition=~models.Q(client_request_token=""),
                name="one_job_per_client_request_token",
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.get_kind_display()} job {self.video_id}"
