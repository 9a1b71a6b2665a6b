"""The image page's picture: the image with its faces and labels drawn over it (inline SVG, no scripts)."""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from recognition.admin.common import thumbnail_url
from recognition.engines.base import BoundingBox
from recognition.models import Face, Image

IDENTIFIED, TO_REVIEW, UNKNOWN, LABEL = "#2e7d32", "#f9a825", "#e53935", "#1e88e5"


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
    font = max(12.0, width / 45)
    boxes = [_face_box(face, width, height, font) for face in image.faces.select_related("person")]
    for label in image.labels.exclude(name="Face"):
        for instance in label.instances:
            box = BoundingBox(**{k.lower(): v for k, v in instance["BoundingBox"].items()})
            boxes.append(_box("label", box, width, height, font, LABEL, label.name))
    html = render_to_string(
        "recognition/admin/image_preview.html",
        {
            "width": width,
            "height": height,
            "src": thumbnail_url(image.pk, 800),
            "boxes": boxes,
            "stroke": f"{max(2.0, width / 300):.1f}",
            "font": f"{font:.0f}",
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
