"""Analysing an image for a caller who waits for the answer and keeps it (the Rekognition-compatible
API's Detect* calls): nothing is stored but the audit row."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from recognition.audit import Actor, audit_record
from recognition.engine_handler import get_engine
from recognition.engines.base import Analysis
from recognition.exceptions import engine_call
from recognition.models import AuditEvent
from recognition.validation import CheckedImage, checked


def image_detect(
    *,
    data: bytes | CheckedImage,
    features: Sequence[str],
    min_label_confidence: float | None = None,
    min_moderation_confidence: float | None = None,
    actor: Actor = None,
    client_ip: str | None = None,
    via: str = "rekognition-api",
) -> Analysis:
    image = checked(data)
    with engine_call():
        analysis = get_engine().analyse(
            image.data,
            features=features,
            min_label_confidence=settings.FACESITE_LABEL_MIN_CONFIDENCE
            if min_label_confidence is None
            else min_label_confidence,
            min_moderation_confidence=settings.FACESITE_MODERATION_MIN_CONFIDENCE
            if min_moderation_confidence is None
            else min_moderation_confidence,
        )
    audit_record(actor=actor, action=AuditEvent.Action.IMAGE_DETECT, client_ip=client_ip, via=via,
                 features=list(features), sha256=image.info.sha256, faces=len(analysis.faces))  # fmt: skip
    return analysis
