from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from integrations import secrets
from recognition.net import REFUSED, AddressRefused, HostNotFound, resolve_checked


class Event(models.TextChoices):
    IMAGE_ANALYSED = "image.analysed", "Image analysed"
    PERSON_IDENTIFIED = "person.identified", "Person identified"
    VERIFICATION_RESULT = "verification.result", "Verification result"
    PERSON_WATCHED = "person.watched", "Watched person or unknown face (watch list)"
    VIDEO_ANALYSED = "video.analysed", "Video analysed (sightings)"


def default_events() -> list[str]:
    return [Event.IMAGE_ANALYSED]


def validate_endpoint_url(url: str, *, resolve: bool = True) -> None:
    """http(s) only, on the allow-list of hosts when one is configured, and (``resolve``) not at a private,
    loopback, link-local or reserved address unless its network is allowed, as for URL uploads."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Endpoint URLs must start with http:// or https:// and name a host.")
    if parts.username or parts.password:
        raise ValidationError("Put credentials in the shared secret, not in the URL.")
    allowed = settings.FACESITE_ENDPOINT_ALLOWED_HOSTS
    if allowed and parts.hostname.lower() not in allowed:
        raise ValidationError(f"{parts.hostname} is not in FACESITE_ENDPOINT_ALLOWED_HOSTS ({', '.join(allowed)}).")
    if resolve:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            resolve_checked(parts.hostname, port, allowed_networks=settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS)
        except AddressRefused as exc:
            raise ValidationError(
                f"{parts.hostname} is {REFUSED}. If the receiver is yours, allow its network in "
                "FACESITE_URL_FETCH_ALLOWED_NETWORKS."
            ) from exc
        except OSError:
            pass  # not resolvable now, or not yet (endpoint_host_missing says which); every send checks again


def endpoint_host_missing(url: str) -> str | None:
    """Why ``url``'s host cannot be reached yet when DNS says it does not exist ("No host is called …"); None
    when it resolves, or when DNS cannot answer now. An endpoint may be set up before its receiver's DNS
    record: this is for a warning, not a refusal."""
    try:
        resolve_checked(urlsplit(url).hostname or "", 443)
    except HostNotFound as exc:
        return str(exc)
    except OSError:  # a private address (the validator's concern), or DNS cannot answer now
        return None
    return None


def validate_events(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one event.")
    unknown = sorted(set(value) - set(Event.values))
    if unknown:
        raise ValidationError(f"Unknown event(s): {', '.join(unknown)}; choose from {', '.join(Event.values)}.")


class Endpoint(models.Model):
    """A third-party system told about results, in XML, by signed HTTP POSTs."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField("URL", max_length=500, validators=[validate_endpoint_url])
    enabled = models.BooleanField(default=True)
    secret_encrypted = models.TextField(
        editable=False, help_text="The HMAC-SHA256 signing secret, encrypted (integrations.secrets). Write-only."
    )
    secret_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A rotation that lets the receiver catch up: the secret replaced also signs until then.
    previous_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    timeout_seconds = models.FloatField(default=10.0, help_text="How long one POST may take.")
    events = models.JSONField(default=default_events, validators=[validate_events])
    only_identified = models.BooleanField(
        default=False, help_text="Only images in which at least one face was matched to a person."
    )
    # PROTECT: were the collection deleted from under it, an endpoint scoped to it would be told of every
    # collection's images (people's identities included) instead.
    collection = models.ForeignKey(
        "recognition.Collection",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Only images identified against this collection (all collections when empty).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def secret(self) -> str:
        """The signing secret in clear, for signing only: no page or API answer shows it."""
        return secrets.decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = secrets.encrypt(value)
        self.secret_changed_at = timezone.now()

    def secret_replace(self, value: str, *, old_signs_for: timedelta = timedelta(0)) -> None:
        """Sign with ``value`` from now on, and with the secret it replaces too for ``old_signs_for`` (a
        receiver that has not taken the new one yet still finds a signature it can check)."""
        keep_old = old_signs_for > timedelta(0) and bool(self.secret_encrypted)
        self.previous_secret_encrypted = self.secret_encrypted if keep_old else ""
        self.previous_secret_until = timezone.now() + old_signs_for if keep_old else None
        self.secret = value

    @property
    def previous_secret_signs(self) -> bool:
        """Whether the secret last replaced still signs, beside the current one."""
        until = self.previous_secret_until
        return bool(self.previous_secret_encrypted) and until is not None and until > timezone.now()

    def signing_secrets(self) -> list[str]:
        """The secrets each delivery is signed with, in clear: the current one, then the one it replaced
        while that still signs."""
        if self.previous_secret_signs:
            return [self.secret, secrets.decrypt(self.previous_secret_encrypted)]
        return [self.secret]

    def clean(self) -> None:
        if self.timeout_seconds is not None and not 0 < self.timeout_seconds <= 120:
            raise ValidationError({"timeout_seconds": "Choose a timeout between 0 and 120 seconds."})


class Delivery(models.Model):
    """One event for one endpoint: a transactional outbox row, then the record of its sending."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERING = "delivering", "Delivering"
        DELIVERED = "delivered", "Delivered"
        RETRYING = "retrying", "Failed, retrying"
        DEAD = "dead", "Dead"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=50, choices=Event.choices)
    image = models.ForeignKey(
        "recognition.Image", on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    idempotency_key = models.CharField(
        max_length=64, unique=True, help_text="Stable per image, endpoint and event; receivers de-duplicate on it."
    )
    payload = models.TextField(help_text="The XML document sent.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    give_up_at = models.DateTimeField(help_text="After this, failures are final (FACESITE_DELIVERY_MAX_AGE).")
    replay_requested = models.BooleanField(default=False, editable=False)
    document_changed = models.BooleanField(
        default=False,
        editable=False,
        help_text="A newer document arrived while this one was being sent: it is sent once that attempt ends.",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the sweeper last queued it (its message was lost)."
    )
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response_excerpt = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        permissions = [("resend_delivery", "Can resend deliveries")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint} ({self.status})"


class DeliveryAttempt(models.Model):
    """One HTTP POST of a delivery, written before it is sent and completed after."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, blank=True)
    replay = models.BooleanField(default=False, help_text="Sent because someone asked for a resend.")

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"Attempt {self.number} of {self.delivery_id}"
