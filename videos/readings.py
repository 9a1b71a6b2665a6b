"""A line of text read again in the next sampled frame, a letter or two misread: OCR reads a sign passing by as
"AT ALL TIMES" in ten frames and "AT ALL_TIMES" in two, and those are one line, not four stretches. And what a
search for text matches: each reading lowercased, its spaces taken out."""

from __future__ import annotations

from collections.abc import Sequence

#: Two boxes of one line in frames close together overlap at least this much (intersection over union).
SAME_PLACE = 0.3
#: Readings shorter than this (without spaces) are too short to tell a misread letter from another word.
SHORTEST = 3
#: A reading may differ from the other by one character in this many, and always by one.
CHARACTERS_PER_EDIT = 5


def squeezed(text: str) -> str:
    """``text`` as searches compare it: casefolded, without spaces, so "ab123" finds "AB 123 CD"."""
    return "".join(text.split()).casefold()


def same_line(reading: str, box: Sequence[float], other: str, other_box: Sequence[float]) -> bool:
    """Whether two lines found in frames close together, each its reading and box (left, top, width, height, ratios
    of the frame), are one line misread: in about the same place, and a character in five differs at most."""
    one, two = squeezed(reading), squeezed(other)
    if min(len(one), len(two)) < SHORTEST or overlap(box, other_box) < SAME_PLACE:
        return False
    allowed = max(1, max(len(one), len(two)) // CHARACTERS_PER_EDIT)
    return edits(one, two, most=allowed) <= allowed


def overlap(box: Sequence[float], other: Sequence[float]) -> float:
    """Intersection over union of two boxes (left, top, width, height)."""
    left, top = max(box[0], other[0]), max(box[1], other[1])
    right, bottom = min(box[0] + box[2], other[0] + other[2]), min(box[1] + box[3], other[1] + other[3])
    inside = max(0.0, right - left) * max(0.0, bottom - top)
    union = box[2] * box[3] + other[2] * other[3] - inside
    return inside / union if union > 0 else 0.0


def edits(one: str, two: str, *, most: int) -> int:
    """The Levenshtein distance between ``one`` and ``two``, or ``most + 1`` once it is known to be more than
    ``most`` (lines are up to 200 characters, and most pairs differ by far more than a letter)."""
    if abs(len(one) - len(two)) > most:
        return most + 1
    previous = list(range(len(two) + 1))
    for i, char in enumerate(one, start=1):
        current = [i]
        for j, other in enumerate(two, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        if min(current) > most:
            return most + 1
        previous = current
    return previous[-1]
