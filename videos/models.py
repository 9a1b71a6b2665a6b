"""Videos, the chunks they are analysed in, and the sightings found in them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from recognition.models import Collection, Face, Image, Person
from recognition.secrets import seal, unseal

#: What a video's sampled frames can be analysed for: faces followed (and identified, unless ``identify`` is
#: off), the things in the picture, unsafe content, and the text written in it (signs, plates, captions).
FEATURES = ("faces", "labels", "moderation", "text")


def faces_only() -> list[str]:
    return ["faces"]


class Video(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class FaceDetails(models.TextChoices):
        NONE = "none", "box and confidence only"
        DEFAULT = "default", "with landmarks, pose and quality"
        ALL = "all", "with landmarks, pose, quality and attributes"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(upload_to="videos/%Y/%m/", max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    original_filename = models.CharField(max_length=255, blank=True)
    source_url = models.URLField("source URL", max_length=2000, blank=True)
    container = models.CharField(max_length=20, blank=True, help_text="As probed from the bytes.")
    codec = models.CharField(max_length=50, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds.")
    frame_rate = models.FloatField(null=True, blank=True)
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="videos")
    sample_rate = models.FloatField(help_text="Frames analysed per second of video.")
    keyframes_only = models.BooleanField(
        default=False, help_text="Only keyframes were decoded (faster; as dense as the sampling only where they are)."
    )
    chunk_seconds = models.FloatField(help_text="Length of the parts analysed in parallel.")
    identify = models.BooleanField(
        default=True,
        help_text="Whether the faces are searched among the collection's enrolled people; if not, they are found "
        "and followed only (the Rekognition-compatible API's StartFaceDetection).",
    )
    features = models.JSONField(
        default=faces_only,
        help_text="What each sampled frame is analysed for: faces (followed into sightings), labels, moderation, text.",
    )
    min_confidence = models.FloatField(
        default=50.0, help_text="The lowest confidence, 0–100, of the labels, moderation labels and text kept."
    )
    face_details = models.CharField(
        max_length=10, choices=FaceDetails.choices, default=FaceDetails.NONE,
        help_text="What each sighting keeps of its face at every sampled frame, beside the box and confidence: "
        "nothing, its landmarks, pose and quality, or those and its attributes (age, gender, emotions, smile: the "
        "attributes model then runs on every face of every sampled frame).",
    )  # fmt: skip

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent of the chunks analysed.")
    error = models.TextField(blank=True)
    fetch_attempts = models.PositiveSmallIntegerField(default=0, help_text="Tries at fetching it from its URL.")
    engine = models.CharField(max_length=100, blank=True)
    model_version = models.CharField(max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    analysed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_filename or str(self.pk)


class VideoChunkQuerySet(models.QuerySet["VideoChunk"]):
    def frame_keys(self) -> list[str]:
        """Storage names of the best frames these chunks' tracks keep until their video is finished."""
        return [track["frame_key"] for tracks in self.values_list("tracks", flat=True) for track in tracks]


class VideoChunk(models.Model):
    """A stretch of a video analysed by one task; a worker lost loses only its chunk (the sweeper retakes it)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    start = models.FloatField()
    end = models.FloatField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    frames = models.PositiveIntegerField(default=0, help_text="Frames analysed.")
    tracks = models.JSONField(default=list, blank=True, help_text="Faces followed in this chunk, until merged.")
    labels = models.JSONField(
        default=list, blank=True, help_text="Labels and moderation labels of its frames, until the video is done."
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = VideoChunkQuerySet.as_manager()

    class Meta:
        ordering = ["video", "index"]
        constraints = [models.UniqueConstraint(fields=["video", "index"], name="unique_chunk_per_video")]

    def __str__(self) -> str:
        return f"{self.video_id} #{self.index} ({self.start:g}–{self.end:g} s)"


class VideoLabel(models.Model):
    """A label, a moderation label, or a line or word of text, found in one sampled frame of a video."""

    class Kind(models.TextChoices):
        LABEL = "label", "Label"
        MODERATION = "moderation", "Moderation label"
        TEXT = "text", "Text"

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="labels")
    at = models.FloatField(help_text="Seconds from the start: when the frame was taken.")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    name = models.CharField(max_length=200)
    confidence = models.FloatField(help_text="0–100.")
    details = models.JSONField(
        default=dict, blank=True,
        help_text="A label's parents, aliases, categories and instances ([left, top, width, height, confidence] "
        "as ratios of the frame); a moderation label's parent_name and taxonomy_level; text's type (LINE or WORD), "
        "id and parent_id (the line a word is in, numbered within the frame), box and polygon.",
    )  # fmt: skip

    class Meta:
        ordering = ["video", "at", "-confidence"]
        indexes = [
            models.Index(fields=["video", "kind", "at"]),
            models.Index(fields=["video", "kind", "name", "at"]),
            models.Index(fields=["video", "at"], name="videos_label_video_at"),  # a time, every kind: the player's
        ]

    def __str__(self) -> str:
        return f"{self.name} at {self.at:.1f} s"


class VideoLabelSegment(models.Model):
    """A label, a moderation label, or a line of text, found in sampled frames of a video close together
    (``videos.labels.JOINED``), with its most confident finding among them (a line's: of its reading found in most
    frames): kept when the video is done, so a video's stretches are read a page at a time."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="label_segments")
    kind = models.CharField(max_length=12, choices=VideoLabel.Kind.choices)
    name = models.CharField(max_length=200)
    start = models.FloatField(help_text="Seconds from the start: its first frame.")
    end = models.FloatField(help_text="Seconds from the start: its last frame.")
    frames = models.PositiveIntegerField(help_text="Sampled frames it was found in.")
    confidence = models.FloatField(help_text="0–100: its most confident finding's.")
    details = models.JSONField(default=dict, blank=True, help_text="Its most confident finding's, as a label's.")
    readings = models.TextField(
        blank=True, editable=False,
        help_text="What searches match: its name, and each other way its line of text was read in the stretch, "
        "casefolded without spaces, one a line.",
    )  # fmt: skip

    class Meta:
        ordering = ["video", "start", "name"]
        indexes = [
            models.Index(fields=["video", "kind", "start", "name"]),
            models.Index(fields=["video", "kind", "name", "start"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} at {self.start:.1f}–{self.end:.1f} s"


class Camera(models.Model):
    """A live stream watched by its own worker (``manage.py watch_camera NAME``): RTSP or HTTP(S)."""

    STREAM_PURPOSE = b"facesite camera stream url"

    name = models.SlugField(max_length=100, unique=True)
    location = models.CharField(max_length=200, blank=True)
    stream_url_sealed = models.TextField(
        editable=False, help_text="The stream's URL, credentials included, encrypted (recognition.secrets)."
    )
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="cameras")
    sample_rate = models.FloatField(default=2.0, help_text="Frames analysed per second; the others are dropped.")
    active = models.BooleanField(default=True)
    connected_at = models.DateTimeField(null=True, blank=True, help_text="When its worker last connected.")
    error = models.TextField(blank=True, help_text="Why the stream could not be read, the last time it could not.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.location})" if self.location else self.name

    @property
    def stream_url(self) -> str:
        return unseal(self.stream_url_sealed, purpose=self.STREAM_PURPOSE)

    @stream_url.setter
    def stream_url(self, url: str) -> None:
        self.stream_url_sealed = seal(url, purpose=self.STREAM_PURPOSE)

    @property
    def shown_url(self) -> str:
        """The URL without its credentials, for pages and logs."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.stream_url)
        host = parts.hostname or ""
        return urlunsplit(parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host))


class Sighting(models.Model):
    """One face followed through a video or a camera's stream: who (or nobody enrolled), from when to when,
    and its best frame, kept as an image with the face, so a sighting is reviewed and enrolled like a face in
    any image. For a camera, times count from ``seen_at``."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, null=True, blank=True, related_name="sightings")
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, null=True, blank=True, related_name="sightings")
    seen_at = models.DateTimeField(null=True, blank=True, help_text="When a camera first saw the face.")
    face = models.OneToOneField(Face, on_delete=models.SET_NULL, null=True, related_name="sighting")
    frame = models.ForeignKey(Image, on_delete=models.SET_NULL, null=True, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    candidate = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    similarity = models.FloatField(null=True, blank=True)
    first_at = models.FloatField(help_text="Seconds from the start.")
    last_at = models.FloatField()
    best_at = models.FloatField(help_text="When the frame shown was taken.")
    boxes = models.JSONField(
        default=list,
        help_text="[seconds, left, top, width, height, confidence] of each time the face was seen: the box as "
        "ratios of the frame, the detection's confidence 0–100 (absent from sightings recorded before it was kept).",
    )
    details = models.JSONField(
        default=list, blank=True,
        help_text="Beside each of boxes, where the video keeps them (its face details): the face's landmarks "
        "[[type, x, y]…], pose, quality and attributes at that frame.",
    )  # fmt: skip

    class Meta:
        ordering = ["video", "first_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(video__isnull=False) | models.Q(camera__isnull=False), name="sighting_has_a_source"
            )
        ]

    def __str__(self) -> str:
        who = self.person or "unknown"
        return f"{who} at {self.first_at:.1f}–{self.last_at:.1f} s"
