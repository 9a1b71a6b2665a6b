from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Kiosk(models.Model):
    """A screen at a door, signed in as its own user (in the Kiosk role, which may only verify badges)."""

    name = models.SlugField(max_length=100, unique=True, help_text="Recorded with every check made here.")
    location = models.CharField(max_length=200, blank=True, help_text="Which door, for people reading the records.")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="kiosk")
    threshold = models.FloatField(
        default=80.0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Similarity (0–100) from which the face is accepted as the badge holder's.",
    )
    liveness = models.BooleanField(
        default=False, help_text="Ask people to turn their head left, then right (a challenge, not certified PAD)."
    )
    explain_refusals = models.BooleanField(
        default=True,
        help_text="Say why a check was refused (Unknown badge, Face does not match, …). Off, the screen says "
        "only 'Not accepted: please ask reception' for those, so no one learns at the door which badges exist; "
        "the records keep the reason.",
    )
    active = models.BooleanField(default=True, help_text="An inactive kiosk cannot sign in or check anyone.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        # The Kiosk role's only permission: badge checks through a kiosk's page, where a refusal names no one.
        # Not recognition.verify_person, whose API answer names the badge holder even when the face does not
        # match: a device at a door could read everyone's name off their badge number with it.
        permissions = [("check_badges", "Can check badges at a door kiosk")]

    def __str__(self) -> str:
        return f"{self.name} ({self.location})" if self.location else self.name
