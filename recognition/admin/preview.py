"""The image page's picture: the image with its faces, labels and text drawn over it (inline SVG; layers and
enlarging are pure CSS, no scripts).

Lettering is sized to the image (a fortieth of its width), so that shown at the 600 px or more the page
gives it, names read at 15 px or more whatever the image's resolution."""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from recognition.admin.common import thumbnail_url
from recognition.engines.base import BoundingBox
from recognition.models import Face, Image

IDENTIFIED, TO_REVIEW, UNKNOWN, LABEL, TEXT = "#2e7d32", "#f9a825", "#e53935", "#1e88e5", "#8e24aa"


@dataclass(frozen=True)
class Box:
    kind: str  # "face" or "label"
    x: str
    y: str
    width: str
    height: str
    text_y: str
    colour: str
    text: str


def image_preview(image: Image) -> SafeString:
    width, height = image.width or 0, image.height or 0
    font = max(12.0, width / 40)
    boxes = [_face_box(face, width, height, font) for face in image.faces.select_related("person")]
    # People are labelled by their faces: Person and Face box the faces, drawn as faces where they were kept.
    labels = image.labels.exclude(name__in=["Face", "Person"] if "faces" in image.features else ["Face"])
    for label in labels:
        for instance in label.instances:
            box = BoundingBox(**{k.lower(): v for k, v in instance["BoundingBox"].items()})
            boxes.append(_box("label", box, width, height, font, LABEL, label.name))
    for line in image.text_detections.filter(type="LINE"):
        stored = line.geometry.get("BoundingBox")
        if stored:
            box = BoundingBox(**{k.lower(): v for k, v in stored.items()})
            boxes.append(_box("text", box, width, height, font, TEXT, line.text[:40]))
    html = render_to_string(
        "recognition/admin/image_preview.html",
        {
            "width": width,
            "height": height,
            "src": thumbnail_url(image.pk, 800),
            "boxes": boxes,
            "counts": {kind: sum(1 for b in boxes if b.kind == kind) for kind in ("face", "label", "text")},
            "stroke": f"{max(2.0, width / 300):.1f}",
            "halo": f"{max(3.0, font / 5):.1f}",
            "font": f"{font:.0f}",
            "title": str(image),
        },
    )
    return mark_safe(html)


def _face_box(face: Face, width: int, height: int, font: float) -> Box:
    if face.person is not None:
        colour, text = IDENTIFIED, face.person.name
    else:
        colour = TO_REVIEW if face.review_state == Face.Review.NEEDS_REVIEW else UNKNOWN
        text = f"{face.similarity:.0f}?" if face.similarity else "unknown"
    return _box("face", face.bounding_box, width, height, font, colour, text)


def _box(kind: str, box: BoundingBox, width: int, height: int, font: float, colour: str, text: str) -> Box:
    left, top = box.left * width, box.top * height
    return Box(
        kind=kind,
        x=f"{left:.1f}",
        y=f"{top:.1f}",
        width=f"{box.width * width:.1f}",
        height=f"{box.height * height:.1f}",
        text_y=f"{max(font, top - 4):.1f}",
        colour=colour,
        text=text,
    )
