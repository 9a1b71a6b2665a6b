"""Rekognition's regions of interest (``Filters.RegionsOfInterest``): a detection is kept when more than half of
its bounding box lies in one of the regions, each a ``BoundingBox`` or a ``Polygon`` of ratios of the image."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from recognition.engines.base import BoundingBox

Point = tuple[float, float]


def in_regions(box: BoundingBox, regions: Sequence[dict[str, Any]]) -> bool:
    """Whether ``box`` is more than half in one of ``regions``; every box is, when there are none."""
    return not regions or any(_share_inside(box, _outline(region)) > 0.5 for region in regions)


def _outline(region: dict[str, Any]) -> list[Point]:
    """The region's corners, in order: its polygon's points, else its bounding box's four corners."""
    if points := region.get("Polygon"):
        return [(point.get("X", 0.0), point.get("Y", 0.0)) for point in points]
    box = region.get("BoundingBox", {})
    left, top = box.get("Left", 0.0), box.get("Top", 0.0)
    right, bottom = left + box.get("Width", 0.0), top + box.get("Height", 0.0)
    return [(left, top), (right, top), (right, bottom), (left, bottom)]


def _share_inside(box: BoundingBox, outline: list[Point]) -> float:
    """How much of ``box``'s area lies inside the polygon ``outline``: the polygon clipped to the box (a convex
    clip, so the polygon itself may be concave), as a share of the box's area."""
    area = box.width * box.height
    if area <= 0 or len(outline) < 3:
        return 0.0
    right, bottom = box.left + box.width, box.top + box.height
    edges = [(0, box.left, 1.0), (0, right, -1.0), (1, box.top, 1.0), (1, bottom, -1.0)]  # (axis, at, inward)
    clipped = outline
    for axis, at, inward in edges:
        clipped = _clip(clipped, axis, at, inward)
        if not clipped:
            return 0.0
    return _area(clipped) / area


def _clip(polygon: list[Point], axis: int, at: float, inward: float) -> list[Point]:
    """``polygon`` cut by the line ``point[axis] == at``, keeping the side ``inward`` points to (Sutherland and
    Hodgman's step)."""
    kept: list[Point] = []
    for i, current in enumerate(polygon):
        previous = polygon[i - 1]
        current_in = (current[axis] - at) * inward >= 0
        previous_in = (previous[axis] - at) * inward >= 0
        if current_in != previous_in:
            t = (at - previous[axis]) / (current[axis] - previous[axis])
            kept.append((previous[0] + t * (current[0] - previous[0]), previous[1] + t * (current[1] - previous[1])))
        if current_in:
            kept.append(current)
    return kept


def _area(polygon: list[Point]) -> float:
    """The shoelace formula."""
    twice = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True))
    return abs(twice) / 2
