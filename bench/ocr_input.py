"""What the size of the OCR detector's input trades: time against the text read, on the two street-sign photos
of ../shared/testdata and on plates rendered onto its other photos.

    .venv/bin/python bench/ocr_input.py [--sides 960 800 640]

Text is read with the engine's own models (RapidOCR's PP-OCR detector and recogniser, one thread) as it is
configured today (the detector's input at least 736 pixels on its short side), then with the long side capped
at each of ``--sides`` (RapidOCR's ``limit_type: max``). The street signs are read at their own size, at
640×480, 720p and 1080p, and panned across at 720p as a passing camera sees them; for each configuration the
script prints the median time a picture, how many of the signs' large lines and of a newspaper box's small
ones were read exactly, and on how many pictures everything was read as today. The plates (five on each
720p picture, 10 to 32 pixels high, black on a light plate) are counted by height.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from arguments import positive_int  # noqa: E402  (beside this script)
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

SHARED = ROOT.parent / "shared" / "testdata"
SIGNS = {
    "scenetext01.jpg": ["AT ALL TIMES", "DOUBLE", "NOTICE", "PARKING", "PROHIBITED"],
    "scenetext02.jpg": ["Car Parks", "Conference Centre", "Sports Centre", "Wivennoe Park"],
}
SMALL = {"scenetext01.jpg": ["Post", "The", "Washington"]}  # the newspaper box beside the sign
BACKGROUNDS = ["dog.jpg", "horses.jpg", "kite.jpg", "giraffe.jpg", "eagle.jpg", "person.jpg", "messi5.jpg"]
PLATE_HEIGHTS = [10, 14, 18, 24, 32]
FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
]
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sides", nargs="+", type=positive_int, default=[960, 800, 640],
                        help="long sides to cap the detector's input at")  # fmt: skip
    args = parser.parse_args()
    missing = [name for name in [*SIGNS, *BACKGROUNDS] if not (SHARED / name).is_file()]
    missing += [font for font in FONTS if not Path(font).is_file()]
    if missing:
        sys.exit(f"Missing: {', '.join(missing)} (../shared/testdata beside the project; Debian's fonts-dejavu "
                 "and fonts-liberation)")  # fmt: skip

    signs, plates = list(sign_pictures()), list(plate_pictures())
    configurations: dict[str, dict[str, Any]] = {"short side at least 736 (today)": {}}
    for side in args.sides:
        configurations[f"long side at most {side}"] = {"Det.limit_side_len": side, "Det.limit_type": "max"}
    print(f"{len(signs)} street-sign pictures, {len(plates)} pictures of plates; one thread")
    print(f"{'detector input':32} {'median':>8}  {'large lines':>11}  {'small lines':>11}  {'as today':>8}  "
          "plates read, by height")  # fmt: skip
    today: list[list[str]] = []
    for label, options in configurations.items():
        ocr = reader(options)
        took, read = signs_read(ocr, signs)
        today = today or read
        large = sum(line in lines for (name, _), lines in zip(signs, read, strict=True) for line in SIGNS[name])
        small = sum(line in lines for (name, _), lines in zip(signs, read, strict=True) for line in SMALL.get(name, ()))
        same = sum(now == before for now, before in zip(read, today, strict=True))
        heights = ", ".join(f"{h} px {n}/{len(plates)}" for h, n in plates_read(ocr, plates).items())
        print(f"{label:32} {took * 1000:5.0f} ms  {large:>4} of {sum(len(SIGNS[n]) for n, _ in signs):<4}  "
              f"{small:>4} of {sum(len(SMALL.get(n, ())) for n, _ in signs):<4}  {same:>2} of {len(signs):<2}  "
              f"{heights}", flush=True)  # fmt: skip


def signs_read(ocr: Any, signs: list[tuple[str, np.ndarray]]) -> tuple[float, list[list[str]]]:
    """The median seconds a picture, and the lines read on each."""
    took, read = [], []
    for _, picture in signs:
        start = time.perf_counter()
        read.append(sorted(ocr(picture).txts or ()))
        took.append(time.perf_counter() - start)
    return statistics.median(took), read


def plates_read(ocr: Any, plates: list[tuple[np.ndarray, list[tuple[int, str]]]]) -> dict[int, int]:
    """How many plates of each height were read exactly (spaces aside)."""
    by_height = dict.fromkeys(PLATE_HEIGHTS, 0)
    for picture, written in plates:
        found = {"".join(text.split()) for text in ocr(picture).txts or ()}
        for height, text in written:
            by_height[height] += "".join(text.split()) in found
    return by_height


def reader(options: dict[str, Any]) -> Any:
    """The engine's OCR, with ``options`` over its configuration."""
    from rapidocr import RapidOCR

    from recognition.engines.local.models import ModelSet, default_cache_dir

    return RapidOCR(params={**ModelSet(threads=1, cache_dir=default_cache_dir()).ocr_params, **options})


def sign_pictures() -> Iterator[tuple[str, np.ndarray]]:
    """Each sign at its own size, 640×480, 720p and 1080p, and four frames of a pan across it at 720p (BGR)."""
    for name in SIGNS:
        photo = Image.open(SHARED / name).convert("RGB")
        width, height = photo.size
        for size in [photo.size, (640, 480), (1280, 720), (1920, 1080)]:
            yield name, bgr(photo.resize(size))
        for step in (0, 3, 6, 9):
            scale = 1.0 - 0.02 * step
            seen_w, seen_h = int(width * scale), int(height * scale)
            left, top = (width - seen_w) * step // 12, (height - seen_h) // 2
            yield name, bgr(photo.crop((left, top, left + seen_w, top + seen_h)).resize((1280, 720)))


def plate_pictures(count: int = 28) -> Iterator[tuple[np.ndarray, list[tuple[int, str]]]]:
    """720p photos, each with five plates of random letters and digits, one of each height; and what they say."""
    rng = random.Random(1)
    for index in range(count):
        picture = Image.open(SHARED / BACKGROUNDS[index % len(BACKGROUNDS)]).convert("RGB").resize((1280, 720))
        draw = ImageDraw.Draw(picture)
        written = []
        for row, height in enumerate(PLATE_HEIGHTS):
            text = "".join(rng.choice(LETTERS) for _ in range(2)) + f" {rng.randrange(100, 999)} "
            text += "".join(rng.choice(LETTERS) for _ in range(2))
            font = ImageFont.truetype(FONTS[(index + row) % len(FONTS)], height)
            x, y = 40 + (row % 2) * 600 + rng.randrange(100), 40 + row * 130 + rng.randrange(40)
            left, top, right, bottom = draw.textbbox((x, y), text, font=font)
            draw.rectangle((left - 6, top - 4, right + 6, bottom + 4), fill=(240, 240, 235))
            draw.text((x, y), text, font=font, fill=(15, 15, 20))
            written.append((height, text))
        yield bgr(picture), written


def bgr(picture: Image.Image) -> np.ndarray:
    return np.asarray(picture)[:, :, ::-1].copy()


if __name__ == "__main__":
    main()
