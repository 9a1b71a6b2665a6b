"""Engine results to unsaved rows, and a reviewer's decision carried over to a re-analysed face.

Pure: no queries, no saving. ``analysis`` saves what these build.
"""

from __future__ import annotations

from collections.abc import Iterable

from recognition.engines import base as engine_types
from recognition.models import Face, Image, Label, ModerationLabel, Person, TextDetection

#: How much two boxes must overlap (intersection over union) to be the same face.
SAME_FACE_OVERLAP = 0.5


def face_row(
    *,
    image: Image,
    face: engine_types.FaceDetail,
    engine: str,
    model_version: str,
    candidate: Person | None = None,
    similarity: float | None = None,
    match_threshold: float = 100.0,
) -> Face:
    """A face row; with a candidate, identified at ``match_threshold`` or above, otherwise sent to review.
    The row holds the person itself, so that what is told of the face names them without another query."""
    box = face.bounding_box
    row = Face(
        image=image,
        left=box.left,
        top=box.top,
        width=box.width,
        height=box.height,
        confidence=face.confidence,
        landmarks=[{"Type": lm.type, "X": lm.x, "Y": lm.y} for lm in face.landmarks],
        pose=face.pose,
        quality=face.quality,
        attributes=face.attributes,
        engine=engine,
        model_version=model_version,
    )
    row.set_embedding(face.embedding)
    if similarity is not None and candidate is not None:
        row.candidate = candidate
        row.similarity = similarity
        if similarity >= match_threshold:
            row.person = candidate
        else:
            row.review_state = Face.Review.NEEDS_REVIEW
    return row


def label_row(*, image: Image, label: engine_types.Label) -> Label:
    return Label(
        image=image,
        name=label.name,
        confidence=label.confidence,
        parents=list(label.parents),
        categories=list(label.categories),
        aliases=list(label.aliases),
        instances=[{"BoundingBox": i.bounding_box.as_dict(), "Confidence": i.confidence} for i in label.instances],
    )


def text_row(*, image: Image, text: engine_types.TextDetection) -> TextDetection:
    return TextDetection(
        image=image,
        text=text.text,
        type=text.type,
        confidence=text.confidence,
        detection_id=text.id,
        parent_id=text.parent_id,
        geometry={
            "BoundingBox": text.bounding_box.as_dict(),
            "Polygon": [{"X": x, "Y": y} for x, y in text.polygon],
        },
    )


def moderation_row(*, image: Image, label: engine_types.ModerationLabel) -> ModerationLabel:
    return ModerationLabel(
        image=image,
        name=label.name,
        parent_name=label.parent_name,
        taxonomy_level=label.taxonomy_level,
        confidence=label.confidence,
    )


def keep_decision(*, row: Face, decisions: Iterable[Face]) -> Face:
    """A reviewer's decision about a face survives re-analysis: the same face (boxes overlapping
    by half or more) keeps a confirmed person, and a rejected person is not assigned again. ``decisions``
    come with their people loaded."""
    overlap, best = max(
        ((d.bounding_box.overlap(row.bounding_box), d) for d in decisions),
        key=lambda pair: pair[0],
        default=(0.0, None),
    )
    if best is None or overlap < SAME_FACE_OVERLAP:
        return row
    if best.review_state == Face.Review.CONFIRMED:
        row.person = best.person  # loaded with the decisions
    elif row.person_id is not None and row.person_id == best.candidate_id:
        row.person = None
    row.review_state = best.review_state
    row.reviewed_by_id, row.reviewed_at = best.reviewed_by_id, best.reviewed_at
    return row
