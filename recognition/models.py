"""Recognition's models, in one module as Django has them: they refer to each other throughout, and the
audit trail's vocabulary of actions (``AuditEvent.Action``) is what brings the module to about 400 lines."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from recognition.engines.base import BoundingBox
from recognition.exceptions import FileMissing
from recognition.text import free_text, single_line


def default_features() -> list[str]:
    return list(settings.FACESITE_DEFAULT_FEATURES)


class Collection(models.Model):
    """A named set of enrolled (reference) faces that images are identified against."""

    name = models.SlugField(max_length=100, unique=True, help_text="Also the collection id at the engine.")
    description = models.TextField(blank=True)
    version = models.PositiveBigIntegerField(
        default=0, help_text="Bumped whenever reference faces are added or removed, so search indexes refresh."
    )
    changes_pruned_through = models.PositiveBigIntegerField(
        default=0, help_text="Reference changes up to this one were pruned: an index older than that reloads."
    )
    watched = models.BooleanField(
        default=False, help_text="Alert when a face no one is enrolled for appears in an image of this collection."
    )
    match_threshold = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Similarity (0–100) from which a face in this collection's images is identified; empty: "
        "FACESITE_MATCH_THRESHOLD. Set from the calibration page, where its error rates are shown.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [("calibrate_collection", "Can calibrate and set a collection's match threshold")]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def get_default(cls) -> Collection:
        collection, _ = cls.objects.get_or_create(name=settings.FACESITE_DEFAULT_COLLECTION)
        return collection

    @property
    def identify_threshold(self) -> float:
        """The similarity from which a face is identified as the person it resembles most."""
        return settings.FACESITE_MATCH_THRESHOLD if self.match_threshold is None else self.match_threshold

    @property
    def review_threshold(self) -> float:
        """The similarity from which a face not identified goes to the review queue (never above the match)."""
        return min(settings.FACESITE_REVIEW_THRESHOLD, self.identify_threshold)

    def bump_version(self) -> None:
        type(self).objects.filter(pk=self.pk).update(version=models.F("version") + 1)


class PersonQuerySet(models.QuerySet):
    def enrolled(self, yes: bool = True) -> PersonQuerySet:
        """People with a reference face (with ``yes`` false, those without one)."""
        with_reference = Face.objects.references().values("person_id")
        return self.filter(pk__in=with_reference) if yes else self.exclude(pk__in=with_reference)


class Person(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, validators=[single_line])
    external_id = models.CharField(
        max_length=128,
        unique=True,
        null=True,
        blank=True,
        validators=[single_line],
        help_text="Badge, RFID or employee code identifying this person in other systems.",
    )
    notes = models.TextField(blank=True, validators=[free_text])
    consent_given_at = models.DateTimeField(
        null=True, blank=True, help_text="When the person consented to biometric processing."
    )
    watched = models.BooleanField(default=False, help_text="Alert whenever this person is identified in an image.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name"])]
        verbose_name_plural = "people"
        permissions = [
            ("enroll_person", "Can enrol reference faces"),
            ("verify_person", "Can verify a badge holder's face"),
            ("search_faces", "Can search and compare faces"),
            ("export_person", "Can export everything held about a person (subject access)"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})" if self.external_id else self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.external_id:
            self.external_id = None  # blank badges must not collide on the unique index
        super().save(*args, **kwargs)

    @property
    def engine_user_id(self) -> str:
        """This person's user in engine collections (Rekognition's UserId): their own id, so a matched
        user maps straight back to them."""
        return str(self.pk)


class Image(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        UPLOAD = "upload", "Upload"
        URL = "url", "URL"
        BASE64 = "base64", "Base64"
        IMPORT = "import", "Bulk import"
        ENROLMENT = "enrolment", "Enrolment"
        REKOGNITION_API = "rekognition_api", "Rekognition-compatible API (IndexFaces)"
        VIDEO = "video", "Frame of a video (a sighting's best)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(upload_to="images/%Y/%m/", max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True, blank=True)
    upload_key = models.CharField(  # noqa: DJ001  (NULL, unlike "", never collides in the unique constraint)
        max_length=64,
        null=True,
        blank=True,
        editable=False,
        help_text="The checksum again, for uploads that must be unique in their collection (not forced duplicates).",
    )
    size_bytes = models.PositiveBigIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=50, blank=True)
    original_filename = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.UPLOAD)
    source_url = models.URLField("source URL", max_length=2000, blank=True)
    collection = models.ForeignKey(
        Collection,
        on_delete=models.PROTECT,
        related_name="images",
        help_text="Faces found in the image are identified against this collection.",
    )
    features = models.JSONField(default=default_features, help_text="Analyses requested for this image.")

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times analysis was started.")
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    engine = models.CharField(max_length=100, blank=True)
    model_version = models.CharField(max_length=100, blank=True)
    properties = models.JSONField(
        null=True, blank=True, help_text="Quality (brightness, sharpness, contrast, 0–100) and dominant colours."
    )

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    analysed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "updated_at"]),
            models.Index(fields=["-created_at"]),
        ]
        permissions = [("download_original_image", "Can download the original bytes of an image, metadata included")]
        constraints = [
            # Duplicate detection that holds when the same bytes arrive twice at the same instant.
            models.UniqueConstraint(fields=["collection", "upload_key"], name="one_upload_per_checksum_and_collection")
        ]

    def __str__(self) -> str:
        return self.original_filename or f"Image {str(self.id)[:8]}"

    def open_stored(self) -> File:
        """The stored file, open for reading; ``FileMissing`` when storage has nothing under its name."""
        try:
            return self.file.open("rb")
        except FileNotFoundError as exc:
            raise FileMissing(f"The stored file of this image ({self.file.name}) is missing from storage.") from exc

    def read_bytes(self) -> bytes:
        with self.open_stored() as fh:
            return fh.read()


class FaceQuerySet(models.QuerySet):
    """The words the code uses for faces: references identify people, sightings are faces found in images."""

    def references(self) -> FaceQuerySet:
        return self.filter(is_reference=True)

    def sightings(self) -> FaceQuerySet:
        return self.filter(is_reference=False)

    def to_review(self) -> FaceQuerySet:
        return self.sightings().filter(review_state=Face.Review.NEEDS_REVIEW)

    def made_by(self, *, engine: str, model_version: str) -> FaceQuerySet:
        """Faces whose embeddings the given engine and model produced (comparable with its new ones)."""
        return self.filter(engine=engine, model_version=model_version)


class Face(models.Model):
    class Review(models.TextChoices):
        NONE = "none", "Not needed"
        NEEDS_REVIEW = "needs_review", "Needs review"
        CONFIRMED = "confirmed", "Confirmed"
        REJECTED = "rejected", "Rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="faces")
    # Box as ratios of the image (Rekognition's BoundingBox).
    left = models.FloatField()
    top = models.FloatField()
    width = models.FloatField()
    height = models.FloatField()
    confidence = models.FloatField(help_text="Detection confidence, 0–100.")
    landmarks = models.JSONField(default=list, blank=True)
    pose = models.JSONField(default=dict, blank=True)
    quality = models.JSONField(default=dict, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    embedding = models.BinaryField(null=True, blank=True, editable=False, help_text="float32 vector, little-endian.")
    engine = models.CharField(max_length=100, blank=True)
    model_version = models.CharField(max_length=100, blank=True)

    is_reference = models.BooleanField(default=False, help_text="An enrolled face that identifies its person.")
    collection = models.ForeignKey(
        Collection, on_delete=models.CASCADE, null=True, blank=True, related_name="reference_faces"
    )
    engine_face_id = models.CharField(
        max_length=100, blank=True, db_index=True, help_text="The id of this face in the engine's collection."
    )
    external_image_id = models.CharField(
        max_length=255, blank=True, help_text="The client's own id for the image, given when it was indexed."
    )

    person = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="faces",
        help_text="Who this face is: matched automatically, confirmed by a reviewer, or enrolled.",
    )
    candidate = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="candidate_faces",
        help_text="The best match among enrolled people, whether or not it passed the threshold.",
    )
    similarity = models.FloatField(null=True, blank=True, help_text="Similarity to the candidate, 0–100.")
    review_state = models.CharField(max_length=20, choices=Review.choices, default=Review.NONE)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FaceQuerySet.as_manager()

    class Meta:
        ordering = ["image", "-width"]
        indexes = [
            models.Index(fields=["review_state"]),
            models.Index(fields=["collection", "is_reference", "engine", "model_version"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "engine_face_id"],
                condition=models.Q(is_reference=True),
                name="unique_reference_face_per_collection",
            ),
        ]

    def __str__(self) -> str:
        return f"Face in {self.image}" if self.image_id else "Face"

    @property
    def bounding_box(self) -> BoundingBox:
        return BoundingBox(left=self.left, top=self.top, width=self.width, height=self.height)

    def get_embedding(self) -> np.ndarray | None:
        if self.embedding is None:
            return None
        return np.frombuffer(bytes(self.embedding), dtype="<f4")

    def set_embedding(self, vector: np.ndarray | None) -> None:
        self.embedding = None if vector is None else np.asarray(vector, dtype="<f4").tobytes()


class Label(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=200)
    confidence = models.FloatField(help_text="0–100.")
    parents = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)
    aliases = models.JSONField(default=list, blank=True, help_text="Other names of the same thing.")
    instances = models.JSONField(default=list, blank=True, help_text="Boxes (ratios) with their confidence.")

    class Meta:
        ordering = ["image", "-confidence"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return f"{self.name} {self.confidence:.1f}"


class TextDetection(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="text_detections")
    text = models.TextField()
    type = models.CharField(max_length=10, choices=[("LINE", "Line"), ("WORD", "Word")])
    confidence = models.FloatField()
    detection_id = models.PositiveIntegerField()
    parent_id = models.PositiveIntegerField(null=True, blank=True)
    geometry = models.JSONField(default=dict, blank=True, help_text="BoundingBox and Polygon, as ratios.")

    class Meta:
        ordering = ["image", "detection_id"]

    def __str__(self) -> str:
        return self.text


class ModerationLabel(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="moderation_labels")
    name = models.CharField(max_length=200)
    parent_name = models.CharField(max_length=200, blank=True)
    taxonomy_level = models.PositiveSmallIntegerField(
        default=1, help_text="1 for a top-level category, 2 for its subcategory, 3 for the finest."
    )
    confidence = models.FloatField()

    class Meta:
        ordering = ["image", "-confidence"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return f"{self.name} {self.confidence:.1f}"


class Verification(models.Model):
    """One badge + face check: who asked, when, and what came out. The probe photo is not kept."""

    class Outcome(models.TextChoices):
        MATCH = "match", "Match"
        NO_MATCH = "no_match", "Face does not match"
        UNKNOWN_BADGE = "unknown_badge", "Unknown badge"
        NO_REFERENCE = "no_reference", "Badge holder has no reference face"
        NO_FACE = "no_face", "No face in the photo"
        SEVERAL_FACES = "several_faces", "Several faces in the photo"
        NOT_LIVE = "not_live", "Head-turn challenge not passed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_id = models.CharField(max_length=128)
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="verifications")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    match = models.BooleanField(default=False)
    similarity = models.FloatField(null=True, blank=True)
    threshold = models.FloatField()
    bounding_box = models.JSONField(
        null=True, blank=True, help_text="The face compared, as ratios of the photo (which is not kept)."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    device = models.CharField(max_length=100, blank=True, help_text="The door kiosk the check was made at, if any.")
    liveness = models.CharField(
        max_length=20, blank=True, help_text="The head-turn challenge's result (passed, failed), if one was asked."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.outcome}"


class PersonExport(models.Model):
    """A subject access export made in the background, for someone seen too often to export while a request
    waits: a zip in storage until it expires (``FACESITE_RETENTION["exports"]``), then purged."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being made"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True, help_text="Bytes.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # What the sweeper needs to make again an export whose message or worker was lost.
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "subject access export"

    def __str__(self) -> str:
        return f"Export of {self.person} ({self.created_at:%Y-%m-%d %H:%M})"


class AuditEventQuerySet(models.QuerySet):
    #: The trail's kinds of event, as its filters (admin and API) offer them.
    KINDS = {"done": "Changes, checks and searches", "reads": "Reads: who looked at what",
             "sign_ins": "Sign-ins and lockouts"}  # fmt: skip

    def of_kind(self, kind: str) -> AuditEventQuerySet:
        """The events of one of ``KINDS``."""
        if kind == "reads":
            return self.filter(action__in=AuditEvent.READS)
        if kind == "sign_ins":
            return self.filter(action__in=AuditEvent.SIGN_INS)
        return self.exclude(action__in=AuditEvent.READS | AuditEvent.SIGN_INS)


class AuditEvent(models.Model):
    """Append-only record of who did what to biometric data. The application never deletes these, and changes
    nothing in them but the count of a read repeated within minutes (``repeats``, ``last_at``)."""

    class Action(models.TextChoices):
        IMAGE_UPLOAD = "image.upload", "Image uploaded"
        IMAGE_LIST = "image.list", "Images listed"
        IMAGE_VIEW = "image.view", "Image viewed"
        IMAGE_THUMBNAIL = "image.thumbnail", "Image thumbnail viewed"
        IMAGE_DOWNLOAD = "image.download", "Image file downloaded"
        IMAGE_REANALYSE = "image.reanalyse", "Image re-analysed"
        IMAGE_DELETE = "image.delete", "Image deleted"
        PERSON_CREATE = "person.create", "Person created"
        PERSON_LIST = "person.list", "People listed or searched"
        PERSON_VIEW = "person.view", "Person viewed"
        PERSON_UPDATE = "person.update", "Person changed"
        PERSON_ENROL = "person.enrol", "Reference face enrolled"
        PERSON_ENROL_REFUSED = "person.enrol.refused", "Reference photo refused"
        PERSON_ERASE = "person.erase", "Person erased"
        PERSON_EXPORT = "person.export", "Person's data exported (subject access)"
        PERSON_EXPORT_REQUEST = "person.export.request", "Person's data export requested (subject access)"
        PERSON_EXPORT_DOWNLOAD = "person.export.download", "Person's data export downloaded (subject access)"
        RETENTION_PURGE = "retention.purge", "Expired data purged"
        STORAGE_STRAYS_DELETE = "storage.strays.delete", "Stray files deleted from storage"
        CALIBRATION_PAIRS_ADD = "calibration.pairs.add", "Labelled photos scored for calibration"
        CALIBRATION_PAIRS_CLEAR = "calibration.pairs.clear", "Labelled calibration pairs removed"
        COLLECTION_THRESHOLD = "collection.threshold", "Match threshold set"
        PERSON_VERIFY = "person.verify", "Badge holder verified"
        FACE_LIST = "face.list", "Faces listed"
        FACE_VIEW = "face.view", "Face viewed"
        FACE_CROP = "face.crop", "Face crop viewed"
        FACE_DELETE = "face.delete", "Reference face removed"
        FACE_FLAG = "face.flag", "Face sent to review"
        FACE_CONFIRM = "face.review.confirm", "Face confirmed"
        FACE_REASSIGN = "face.review.reassign", "Face reassigned"
        FACE_REJECT = "face.review.reject", "Face rejected"
        FACES_SEARCH = "faces.search", "Faces searched"
        FACES_COMPARE = "faces.compare", "Faces compared"
        COLLECTION_REINDEX = "collection.reindex", "Collection re-indexed"
        COLLECTION_CREATE = "collection.create", "Collection created"
        COLLECTION_DELETE = "collection.delete", "Collection deleted"
        FACES_INDEX = "faces.index", "Faces indexed"
        FACES_ASSOCIATE = "faces.associate", "Faces given to a person"
        FACES_DISASSOCIATE = "faces.disassociate", "Faces taken from a person"
        IMAGE_DETECT = "image.detect", "Image analysed without storing it"
        ACCESS_KEY_CREATE = "access_key.create", "API access key created"
        ACCESS_KEY_REVOKE = "access_key.revoke", "API access key revoked"
        API_TOKEN_ISSUE = "api_token.issue", "API token issued"
        API_TOKEN_REVOKE = "api_token.revoke", "API token revoked"
        USER_SIGN_IN = "user.sign_in", "Signed in"
        USER_LOCKED_OUT = "user.locked_out", "Sign-in locked after failed attempts"
        TWO_STEP_SET_UP = "two_step.set_up", "Two-step sign-in set up"
        TWO_STEP_RECOVERY = "two_step.recovery", "Signed in with a recovery code"
        TWO_STEP_RESET = "two_step.reset", "Two-step sign-in reset"
        TWO_STEP_SETUP_REFUSED = "two_step.setup_refused", "Two-step set-up refused: its days were over"
        SECURITY_KEY_ADDED = "security_key.added", "Security key added"
        SECURITY_KEY_REMOVED = "security_key.removed", "Security key removed"
        SECURITY_KEY_COPY = "security_key.copy_refused", "Security key refused: its counter went back (a copy?)"
        KEYS_ONLY_ON = "two_step.keys_only", "Two-step sign-in set to security keys only"
        KEYS_ONLY_OFF = "two_step.codes_again", "Two-step sign-in takes codes again"
        KEYS_ONLY_CODE = "two_step.code_refused", "Code refused: the user signs in with security keys only"
        VERIFICATION_LIST = "verification.list", "Verifications listed"
        VIDEO_UPLOAD = "video.upload", "Video uploaded"
        VIDEO_LIST = "video.list", "Videos listed"
        VIDEO_VIEW = "video.view", "Video viewed"
        VIDEO_DELETE = "video.delete", "Video deleted"
        CAMERA_VIEW = "camera.view", "Camera and its sightings viewed"
        CAMERA_DELETE = "camera.delete", "Camera deleted, with its sightings"
        KIOSK_CREATE = "kiosk.create", "Door kiosk and its account created"
        KIOSK_PASSWORD = "kiosk.password", "Door kiosk given a new password"
        KIOSK_PAUSE = "kiosk.pause", "Door kiosk paused after refused badges"
        # The audit trail is shared: integrations records what it does to endpoints and deliveries here too.
        ENDPOINT_CREATE = "endpoint.create", "Endpoint created"
        ENDPOINT_UPDATE = "endpoint.update", "Endpoint changed"
        ENDPOINT_DELETE = "endpoint.delete", "Endpoint deleted"
        ENDPOINT_TEST = "endpoint.test", "Test event sent to an endpoint"
        DELIVERY_LIST = "delivery.list", "Deliveries listed"
        DELIVERY_VIEW = "delivery.view", "Delivery viewed"
        DELIVERY_RESEND = "delivery.resend", "Delivery resent"

    #: Who signed in, and sign-ins locked after failed attempts: the trail's "sign-ins" (the dashboard shows
    #: the lockouts only).
    SIGN_INS = frozenset({Action.USER_SIGN_IN, Action.USER_LOCKED_OUT})
    #: The actions that record someone looking at stored data (``audit_request``, ``audit_list``); every other
    #: action records something done: a change, a check, a search.
    READS = frozenset({
        Action.IMAGE_LIST, Action.IMAGE_VIEW, Action.IMAGE_THUMBNAIL, Action.IMAGE_DOWNLOAD, Action.PERSON_LIST,
        Action.PERSON_VIEW, Action.FACE_LIST, Action.FACE_VIEW, Action.FACE_CROP, Action.VERIFICATION_LIST,
        Action.VIDEO_LIST, Action.VIDEO_VIEW, Action.CAMERA_VIEW, Action.DELIVERY_LIST, Action.DELIVERY_VIEW,
    })  # fmt: skip

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, help_text="Kept when the user is deleted.")
    action = models.CharField(max_length=50, db_index=True, choices=Action.choices)
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Reads only: the same user reading the same object again within minutes is counted on the first row.
    repeats = models.PositiveIntegerField(default=1, help_text="How many times (reads repeated within minutes).")
    last_at = models.DateTimeField(null=True, blank=True, help_text="When a repeated read last happened.")

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        who = self.actor_name or "-"
        return f"{self.created_at:%Y-%m-%d %H:%M} {who} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only.")


class ReferenceChange(models.Model):
    """One reference face of a collection added, changed or removed: what in-memory indexes replay to catch
    up (``id`` is the order), instead of reloading the whole collection after every enrolment."""

    id = models.BigAutoField(primary_key=True)
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="+")
    engine_face_id = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["collection", "id"])]

    def __str__(self) -> str:
        return f"{self.collection_id}/{self.engine_face_id} #{self.id}"


class CalibrationPair(models.Model):
    """The similarity of two faces whose identities someone labelled (a folder of photos per person, scored
    by ``manage.py calibrate --add-folder``). Only the score is kept: no photo, face or embedding."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="calibration_pairs")
    genuine = models.BooleanField(help_text="Two faces of one person (else of two people).")
    score = models.FloatField(help_text="Similarity, 0–100.")
    group = models.CharField(max_length=100, blank=True, help_text="The labelled group of the people, if any.")
    source = models.CharField(max_length=255, blank=True, help_text="The folder the photos came from.")
    engine = models.CharField(max_length=100)
    model_version = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["collection", "engine", "model_version"])]

    def __str__(self) -> str:
        return f"{'genuine' if self.genuine else 'impostor'} {self.score:.1f} in {self.collection_id}"


class FaceForReview(Face):
    """The review queue: faces whose best match fell just below the threshold, or that someone flagged."""

    class Meta:
        proxy = True
        verbose_name = "face to review"
        verbose_name_plural = "faces to review"


class WatchAlert(models.Model):
    """A watched person identified, or an unknown face in a watched collection: e-mailed and sent to
    endpoints (``person.watched``). Repeats of the same person (or of unknown faces) in the same collection
    within ``FACESITE_WATCH_REPEAT_SECONDS`` raise none."""

    class Kind(models.TextChoices):
        PERSON = "person", "Watched person identified"
        UNKNOWN = "unknown", "Unknown face in a watched collection"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="watch_alerts")
    face = models.ForeignKey(Face, on_delete=models.SET_NULL, null=True, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} in {self.collection_id}, {self.created_at:%Y-%m-%d %H:%M}"
