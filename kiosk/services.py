"""A check at a door kiosk: the badge holder's face, the optional head-turn challenge, and what the screen
may show (only the accepted person's name and reference thumbnail; a neutral reason otherwise)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from kiosk.models import Kiosk
from recognition.exceptions import NotAllowed
from recognition.models import Face, Verification
from recognition.services.access import require_permission
from recognition.services.liveness import head_turn_check
from recognition.services.matching import person_verify
from recognition.thumbnails import face_crop_if_stored

#: What the screen says when it refuses: neutral, and no hint about who the badge belongs to.
REASONS: dict[str, str] = {
    Verification.Outcome.NO_MATCH: "Face does not match",
    Verification.Outcome.UNKNOWN_BADGE: "Unknown badge",
    Verification.Outcome.NO_REFERENCE: "Badge not enrolled",
    Verification.Outcome.NO_FACE: "No face seen",
    Verification.Outcome.SEVERAL_FACES: "Several faces",
    Verification.Outcome.NOT_LIVE: "Please turn your head as asked",
}
THUMBNAIL_SIZE = 160
CHECK_BADGES = "kiosk.check_badges"


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
    liveness = head_turn_check(frames).passed if kiosk.liveness else None
    verification = person_verify(
        external_id=badge, data=photo, threshold=kiosk.threshold, actor=kiosk.user, client_ip=client_ip,
        device=kiosk.name, liveness=liveness,
    )  # fmt: skip
    if not verification.match:
        return KioskAnswer(accepted=False, reason=REASONS[verification.outcome], verification_id=str(verification.pk))
    person = verification.person
    assert person is not None
    reference = Face.objects.references().filter(person=person).order_by("created_at").first()
    # None without a reference face left, or with its photo missing from storage: the check compared
    # embeddings, so the door still opens, without the picture.
    crop = face_crop_if_stored(reference, size=THUMBNAIL_SIZE) if reference else None
    thumbnail = "data:image/jpeg;base64," + base64.b64encode(crop).decode() if crop else ""
    return KioskAnswer(accepted=True, name=person.name, thumbnail=thumbnail, verification_id=str(verification.pk))
