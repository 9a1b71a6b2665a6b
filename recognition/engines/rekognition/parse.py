"""Amazon Rekognition's responses as the engine interface's dataclasses.

Rekognition already speaks the interface's language (confidences 0–100, boxes and landmarks as ratios
of the image): this only moves fields across, keeping every attribute Rekognition returns.
"""

from __future__ import annotations

from typing import Any

from recognition.engines.base import (
    BoundingBox,
    DominantColour,
    FaceDetail,
    ImageProperties,
    Label,
    LabelInstance,
    Landmark,
    ModerationLabel,
    TextDetection,
)

# DetectFaces with Attributes=["ALL"]: everything but the geometry, kept as Rekognition names it.
FACE_ATTRIBUTES = (
    "AgeRange", "Smile", "Eyeglasses", "Sunglasses", "Gender", "Beard", "Mustache", "EyesOpen", "MouthOpen",
    "Emotions", "FaceOccluded", "EyeDirection",
)  # fmt: skip


def box(data: dict[str, Any] | None) -> BoundingBox:
    data = data or {}
    return BoundingBox(
        left=float(data.get("Left", 0.0)),
        top=float(data.get("Top", 0.0)),
        width=float(data.get("Width", 0.0)),
        height=float(data.get("Height", 0.0)),
    ).clamped()


def face(data: dict[str, Any]) -> FaceDetail:
    return FaceDetail(
        bounding_box=box(data.get("BoundingBox")),
        confidence=float(data.get("Confidence", 0.0)),
        landmarks=tuple(
            Landmark(type=str(mark["Type"]), x=float(mark["X"]), y=float(mark["Y"]))
            for mark in data.get("Landmarks", ())
        ),
        pose={k: float(v) for k, v in data.get("Pose", {}).items()},
        quality={k: float(v) for k, v in data.get("Quality", {}).items()},
        attributes={k: data[k] for k in FACE_ATTRIBUTES if k in data},
    )


def faces(details: list[dict[str, Any]]) -> list[FaceDetail]:
    """Largest first, as the interface promises (Rekognition does not order them)."""
    return sorted((face(d) for d in details), key=lambda f: -f.bounding_box.area)


def label(data: dict[str, Any]) -> Label:
    return Label(
        name=str(data["Name"]),
        confidence=float(data.get("Confidence", 0.0)),
        parents=tuple(str(p["Name"]) for p in data.get("Parents", ())),
        categories=tuple(str(c["Name"]) for c in data.get("Categories", ())),
        aliases=tuple(str(a["Name"]) for a in data.get("Aliases", ())),
        instances=tuple(
            LabelInstance(bounding_box=box(i.get("BoundingBox")), confidence=float(i.get("Confidence", 0.0)))
            for i in data.get("Instances", ())
        ),
    )


def properties(data: dict[str, Any]) -> ImageProperties:
    quality = data.get("Quality", {})
    return ImageProperties(
        brightness=float(quality.get("Brightness", 0.0)),
        sharpness=float(quality.get("Sharpness", 0.0)),
        contrast=float(quality.get("Contrast", 0.0)),
        dominant_colours=tuple(
            DominantColour(
                hex_code=str(c.get("HexCode", "")),
                simplified=str(c.get("SimplifiedColor", "")),
                pixel_percent=float(c.get("PixelPercent", 0.0)),
            )
            for c in data.get("DominantColors", ())
        ),
    )


def moderation(data: dict[str, Any]) -> ModerationLabel:
    return ModerationLabel(
        name=str(data["Name"]),
        confidence=float(data.get("Confidence", 0.0)),
        parent_name=str(data.get("ParentName", "")),
        taxonomy_level=int(data.get("TaxonomyLevel", 1)),
    )


def text(data: dict[str, Any]) -> TextDetection:
    geometry = data.get("Geometry", {})
    return TextDetection(
        text=str(data["DetectedText"]),
        type=str(data["Type"]),
        confidence=float(data.get("Confidence", 0.0)),
        bounding_box=box(geometry.get("BoundingBox")),
        id=int(data["Id"]),
        parent_id=int(data["ParentId"]) if "ParentId" in data else None,
        polygon=tuple((float(p["X"]), float(p["Y"])) for p in geometry.get("Polygon", ())),
    )
