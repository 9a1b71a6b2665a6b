"""A check at a door kiosk: the badge holder's face, the optional head-turn challenge, and what the screen
may show (only the accepted person's name and reference thumbnail; a neutral reason otherwise)."""

from __future__ import annotations

import base64
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from kiosk.models import Kiosk
from recognition.audit import audit_record
from recognition.exceptions import FacesiteError, NotAllowed
from recognition.models import AuditEvent, Face, Verification
from recognition.services.access import require_permission
from recognition.services.liveness import head_turn_check
from recognition.services.matching import person_verify
from recognition.services.thumbnails import face_crop_if_stored

#: What the screen says when it refuses: neutral, and no hint about who the badge belongs to.
REASONS: dict[str, str] = {
    Verification.Outcome.NO_MATCH: "Face does not match",
    Verification.Outcome.UNKNOWN_BADGE: "Unknown badge",
    Verification.Outcome.NO_REFERENCE: "Badge not enrolled",
    Verification.Outcome.NO_FACE: "No face seen",
    Verification.Outcome.SEVERAL_FACES: "Several faces",
    Verification.Outcome.NOT_LIVE: "Please turn your head as asked",
}
#: What a kiosk that does not explain refusals says instead of the reasons that tell badges apart.
NOT_ACCEPTED = "Not accepted: please ask reception"
#: The reasons that say something about the badge itself; the others (no face, several faces, the
#: challenge) are about how the person stood, which they need to hear to try again.
ABOUT_THE_BADGE = {
    Verification.Outcome.NO_MATCH, Verification.Outcome.UNKNOWN_BADGE, Verification.Outcome.NO_REFERENCE,
}  # fmt: skip
THUMBNAIL_SIZE = 160
CHECK_BADGES = "kiosk.check_badges"

log = logging.getLogger(__name__)


class KioskPaused(FacesiteError):
    """Too many refusals about badges at this kiosk lately (someone may be guessing badge numbers): no check
    for ``retry_after`` seconds."""

    code = "kiosk_paused"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class KioskAnswer:
    accepted: bool
    reason: str = ""
    name: str = ""
    thumbnail: str = ""  # a data: URL, so the kiosk's account needs no access to face crops
    verification_id: str = ""


def kiosk_check(
    *, kiosk: Kiosk, badge: str, photo: bytes, frames: list[bytes], client_ip: str | None = None
) -> KioskAnswer:
    """Verify the face in ``photo`` against the holder of ``badge``; with the kiosk's challenge on, ``frames``
    must show the head turning left, then right. Recorded as a verification with the kiosk's name."""
    if not kiosk.active:
        raise NotAllowed(f"The kiosk {kiosk.name} is switched off.")
    require_permission(kiosk.user, CHECK_BADGES, to="check badges at a kiosk")
    _refuse_while_paused(kiosk)
    liveness = head_turn_check(frames).passed if kiosk.liveness else None
    verification = person_verify(
        external_id=badge, data=photo, threshold=kiosk.threshold, actor=kiosk.user, client_ip=client_ip,
        device=kiosk.name, liveness=liveness,
    )  # fmt: skip
    if verification.outcome in _counted(kiosk):
        _pause_if_guessing(kiosk, client_ip=client_ip)
    if not verification.match:
        hidden = not kiosk.explain_refusals and verification.outcome in ABOUT_THE_BADGE
        reason = NOT_ACCEPTED if hidden else REASONS[verification.outcome]
        return KioskAnswer(accepted=False, reason=reason, verification_id=str(verification.pk))
    person = verification.person
    assert person is not None
    reference = Face.objects.references().filter(person=person).order_by("created_at").first()
    # None without a reference face left, or with its photo missing from storage: the check compared
    # embeddings, so the door still opens, without the picture.
    crop = face_crop_if_stored(reference, size=THUMBNAIL_SIZE) if reference else None
    thumbnail = "data:image/jpeg;base64," + base64.b64encode(crop).decode() if crop else ""
    return KioskAnswer(accepted=True, name=person.name, thumbnail=thumbnail, verification_id=str(verification.pk))


def _counted(kiosk: Kiosk) -> set[str]:
    """The refusals that count towards a pause: unknown badges; where the screen does not explain refusals,
    every refusal about the badge, so that whether a pause comes tells no more than the screen does."""
    return {Verification.Outcome.UNKNOWN_BADGE} if kiosk.explain_refusals else set(ABOUT_THE_BADGE)


def _recent_refusals(kiosk: Kiosk, now: datetime) -> list[datetime]:
    """When this kiosk's latest counted refusals were, newest first: at most the limit's worth, within the
    window."""
    window = timedelta(seconds=settings.FACESITE_KIOSK_PAUSE_SECONDS)
    return list(
        Verification.objects.filter(device=kiosk.name, outcome__in=_counted(kiosk), created_at__gte=now - window)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[: settings.FACESITE_KIOSK_UNKNOWN_BADGES]
    )


def _refuse_while_paused(kiosk: Kiosk) -> None:
    now = timezone.now()
    recent = _recent_refusals(kiosk, now)
    if len(recent) < settings.FACESITE_KIOSK_UNKNOWN_BADGES:
        return
    resumes = recent[-1] + timedelta(seconds=settings.FACESITE_KIOSK_PAUSE_SECONDS)
    wait = max(1, math.ceil((resumes - now).total_seconds()))
    what = "unknown badges" if kiosk.explain_refusals else "refused checks"
    raise KioskPaused(f"Too many {what} here: wait {wait} s, or ask reception.", retry_after=wait)


def _pause_if_guessing(kiosk: Kiosk, *, client_ip: str | None) -> None:
    """Record the pause that this refusal starts, if it is the one that reaches the limit."""
    if len(_recent_refusals(kiosk, timezone.now())) < settings.FACESITE_KIOSK_UNKNOWN_BADGES:
        return
    limit, seconds = settings.FACESITE_KIOSK_UNKNOWN_BADGES, settings.FACESITE_KIOSK_PAUSE_SECONDS
    log.warning("Kiosk %s paused: %d refusals about badges within %d s", kiosk.name, limit, seconds)
    audit_record(actor=kiosk.user, action=AuditEvent.Action.KIOSK_PAUSE, client_ip=client_ip, kiosk=kiosk.name,
                 refused=sorted(_counted(kiosk)), checks=limit, seconds=seconds)  # fmt: skip
