"""Regions of interest as Rekognition defines them: a detection is kept when more than half of its box is in
one region, a bounding box or a polygon (concave ones too)."""

import pytest

from recognition.engines.base import BoundingBox
from rekognition_api.operations.regions import in_regions

WORD = BoundingBox(left=0.25, top=0.25, width=0.25, height=0.125)  # x 0.25–0.5, y 0.25–0.375 (exact in binary)


def box_region(left, top, width, height) -> dict:
    return {"BoundingBox": {"Left": left, "Top": top, "Width": width, "Height": height}}


def polygon_region(*points) -> dict:
    return {"Polygon": [{"X": x, "Y": y} for x, y in points]}


def u_shape(notch_left: float, notch_right: float, notch_bottom: float) -> dict:
    """A square around the word with a notch cut down from its top edge: a concave polygon."""
    return polygon_region((0.1, 0.1), (notch_left, 0.1), (notch_left, notch_bottom), (notch_right, notch_bottom),
                          (notch_right, 0.1), (0.6, 0.1), (0.6, 0.6), (0.1, 0.6))  # fmt: skip


@pytest.mark.parametrize(
    ("regions", "kept"),
    [
        ([], True),  # no regions: everything
        ([box_region(0, 0, 1, 1)], True),
        ([box_region(0.0, 0.0, 0.39, 1.0)], True),  # 56 % of the word
        ([box_region(0.0, 0.0, 0.36, 1.0)], False),  # 44 %
        ([box_region(0.0, 0.0, 0.375, 1.0)], False),  # exactly half is not more than half
        ([box_region(0.6, 0.6, 0.3, 0.3), box_region(0.3125, 0.0, 1.0, 1.0)], True),  # the second holds 75 %
        ([box_region(0.0, 0.0, 0.36, 1.0), box_region(0.39, 0.0, 1.0, 1.0)], False),  # 44 % each, not added up
        ([polygon_region((0.1, 0.1), (0.6, 0.1), (0.6, 0.6), (0.1, 0.6))], True),
        ([polygon_region((0.25, 0.25), (0.5, 0.25), (0.25, 0.375))], False),  # a triangle: half the box exactly
        ([polygon_region((0.25, 0.25), (0.75, 0.25), (0.25, 0.5))], True),  # a larger one: all of it
        ([u_shape(0.3125, 0.4375, 0.3125)], True),  # the notch bites 25 % out of the word
        ([u_shape(0.28125, 0.46875, 0.4)], False),  # it bites 75 %
        ([polygon_region((0.0, 0.0), (1.0, 0.0))], False),  # two points enclose nothing
    ],
)
def test_a_detection_is_kept_when_more_than_half_of_it_is_in_a_region(regions, kept):
    assert in_regions(WORD, regions) is kept
