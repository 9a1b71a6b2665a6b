"""An image's stored results, in the order documents list them.

The analysis that writes them hands them on with ``image_analysed``, so that what is told of an image does not
read back what was just written; anyone else reads them with ``StoredResults.read``. Both give the same order,
ties included, so a document built either way is the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from recognition.models import Face, Image, Label, ModerationLabel, TextDetection


@dataclass(frozen=True)
class StoredResults:
    labels: list[Label]  # most confident first
    faces: list[Face]  # largest first (the analysis loads their people; others are read when asked for)
    text: list[TextDetection]  # in the engine's order (detection id)
    moderation: list[ModerationLabel]  # most confident first

    @classmethod
    def of(
        cls,
        *,
        labels: Iterable[Label],
        faces: Iterable[Face],
        text: Iterable[TextDetection],
        moderation: Iterable[ModerationLabel],
    ) -> StoredResults:
        return cls(
            labels=sorted(labels, key=lambda label: (-label.confidence, label.name)),
            faces=sorted(faces, key=lambda face: (-face.width, str(face.pk))),
            text=sorted(text, key=lambda detection: detection.detection_id),
            moderation=sorted(moderation, key=lambda label: (-label.confidence, label.name)),
        )

    @classmethod
    def read(cls, image: Image) -> StoredResults:
        """What the database holds for ``image`` now: four queries."""
        return cls.of(
            labels=image.labels.all(),
            faces=image.faces.select_related("person"),
            text=image.text_detections.all(),
            moderation=image.moderation_labels.all(),
        )

    @property
    def identified(self) -> bool:
        """Whether any face is someone's."""
        return any(face.person_id is not None for face in self.faces)
