"""Image quality and dominant colours computed from the pixels, for engines without a service to ask.

The measures follow Rekognition's IMAGE_PROPERTIES in meaning (each 0–100, colours with the share of
pixels they cover), not in exact values: brightness is the mean luminance, contrast its spread, sharpness
the variance of the Laplacian mapped onto 0–100, colours a median-cut palette of a thumbnail.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
from PIL import Image

from recognition.engines.base import DominantColour, ImageProperties

THUMBNAIL_SIDE = 256
# Named colours a person would use, for "SimplifiedColor".
BASIC_COLOURS = {
    "black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128), "red": (200, 30, 30),
    "orange": (240, 140, 20), "yellow": (240, 220, 40), "green": (40, 160, 60), "blue": (40, 80, 200),
    "purple": (130, 50, 160), "pink": (240, 150, 190), "brown": (120, 80, 40),
}  # fmt: skip


def image_properties(rgb: Image.Image, *, max_colours: int = 10) -> ImageProperties:
    small = rgb.copy()
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    grey = np.asarray(small.convert("L"), dtype=np.float64)
    laplacian = (
        grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4.0 * grey[1:-1, 1:-1]
        if min(grey.shape) >= 3
        else np.zeros(1)
    )
    return ImageProperties(
        brightness=round(float(grey.mean()) / 255.0 * 100.0, 3),
        sharpness=round(100.0 * (1.0 - math.exp(-float(laplacian.var()) / 300.0)), 3),
        contrast=round(min(100.0, float(grey.std()) / 127.5 * 100.0), 3),
        dominant_colours=dominant_colours(small, max_colours=max_colours),
    )


def dominant_colours(rgb: Image.Image, *, max_colours: int) -> tuple[DominantColour, ...]:
    palette_image = rgb.quantize(colors=max_colours, method=Image.Quantize.MEDIANCUT)
    palette = palette_image.getpalette() or []
    counts = sorted(palette_image.getcolors() or [], reverse=True)
    total = sum(count for count, _ in counts) or 1
    colours = []
    for count, index in counts[:max_colours]:
        start = cast(int, index) * 3  # a palette index: quantize() makes a "P" image
        red, green, blue = palette[start : start + 3]
        colours.append(
            DominantColour(
                hex_code=f"#{red:02X}{green:02X}{blue:02X}",
                simplified=simplified_colour((red, green, blue)),
                pixel_percent=round(100.0 * count / total, 3),
            )
        )
    return tuple(colours)


def simplified_colour(rgb: tuple[int, int, int]) -> str:
    return min(BASIC_COLOURS, key=lambda name: sum((a - b) ** 2 for a, b in zip(rgb, BASIC_COLOURS[name], strict=True)))
