"""What the local engine labels each test photo, and what a plain sum of classes would have said.

    .venv/bin/python bench/labels.py [--min-confidence 50] [PHOTO ...]

For every photo (the fixtures, group photos made from them, the same at a fence,
and any paths given) it prints the labels at or above the minimum confidence, and
for each parent label the confidence the old roll-up gave: the plain sum of every
class under it. Parents that the plain sum would have reported but that no
longer reach the minimum are listed as dropped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognition.engines.local import LocalEngine  # noqa: E402
from tests.images import FIXTURES, behind_a_fence, group_photo  # noqa: E402

GROUP = ("obama.jpg", "biden.jpg", "astronaut.png")
CROWD = ("messi5.jpg", "biden.jpg", "obama3.jpg", "obama2.jpg", "astronaut.png")


def photos(extra: list[str]) -> list[tuple[str, bytes]]:
    out = [(p.name, p.read_bytes()) for p in sorted(FIXTURES.iterdir()) if p.suffix in {".jpg", ".png"}]
    out += [("group of 3", group_photo(GROUP)), ("group of 3 at a fence", behind_a_fence(group_photo(GROUP)))]
    out += [("group of 5", group_photo(CROWD)), ("group of 5 at a fence", behind_a_fence(group_photo(CROWD)))]
    return out + [(Path(p).name, Path(p).read_bytes()) for p in extra]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-confidence", type=float, default=50.0)
    parser.add_argument("photo", nargs="*", help="more photos to label")
    args = parser.parse_args()
    engine = LocalEngine()
    taxonomy = engine.taxonomy
    print("| photo | labels (confidence; plain sum before) | dropped (plain sum) |")
    print("| --- | --- | --- |")
    for name, data in photos(args.photo):
        probabilities = engine.class_probabilities(data)
        plain = dict(zip(taxonomy.parent_names, taxonomy.membership @ probabilities * 100.0, strict=True))
        labels = engine.detect_labels(data, min_confidence=args.min_confidence)
        shown = []
        for label in labels:
            before = f"; {plain[label.name]:.0f}" if label.name in plain else ""
            shown.append(f"{label.name} {label.confidence:.0f}{before}")
        kept = {label.name for label in labels}
        dropped = [f"{n} {s:.0f}" for n, s in plain.items() if s >= args.min_confidence and n not in kept]
        print(f"| {name} | {', '.join(shown) or '–'} | {', '.join(dropped) or '–'} |")


if __name__ == "__main__":
    main()
