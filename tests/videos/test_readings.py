"""Telling a line of text misread in the next frame from another line (``videos.readings``)."""

import pytest

from videos.readings import edits, overlap, same_line, squeezed

SIGN = [0.10, 0.40, 0.30, 0.06]
MOVED_A_LITTLE = [0.12, 0.41, 0.29, 0.06]
ELSEWHERE = [0.60, 0.40, 0.30, 0.06]


@pytest.mark.parametrize(
    ("one", "two", "distance"),
    [("", "", 0), ("exit", "exit", 0), ("exit", "exlt", 1), ("kitten", "sitting", 3), ("", "abc", 3),
     ("atalltimes", "atall_times", 1), ("notice", "totic", 2)],
)  # fmt: skip
def test_edits_counts_the_characters_put_in_taken_out_or_changed(one, two, distance):
    assert edits(one, two, most=10) == edits(two, one, most=10) == distance


def test_edits_stops_once_it_knows_the_distance_is_more_than_asked():
    assert edits("abcdefgh", "stuvwxyz", most=2) == 3
    assert edits("a" * 200, "b", most=1) == 2, "lengths alone tell"


def test_overlap_is_intersection_over_union():
    assert overlap(SIGN, SIGN) == pytest.approx(1.0)
    assert overlap(SIGN, ELSEWHERE) == 0.0
    assert overlap([0, 0, 2, 1], [1, 0, 2, 1]) == pytest.approx(1 / 3)
    assert overlap([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0


def test_squeezed_is_casefolded_without_any_spaces():
    assert squeezed(" AB 123\tCD ") == "ab123cd"
    assert squeezed("STRASSE") == squeezed("Straße") == "strasse"


@pytest.mark.parametrize(
    ("reading", "other", "box", "same"),
    [
        ("AT ALL TIMES", "AT ALL_TIMES", MOVED_A_LITTLE, True),  # OCR's own misreading of a passing sign
        ("Post", "Past", SIGN, True),
        ("EXIT", "Exit", SIGN, True),
        ("AB 123 CD", "AB 128 CD", MOVED_A_LITTLE, True),
        ("AT ALL TIMES", "AT ALL_TIMES", ELSEWHERE, False),  # another sign
        ("AB 123 CD", "AB 128 CX", SIGN, False),  # two characters in nine
        ("NOTICE", "TOTIC", SIGN, False),
        ("AB", "AC", SIGN, False),  # too short to tell
        ("PARKING", "PROHIBITED", SIGN, False),
    ],
)
def test_a_line_read_again_is_the_same_line_only_in_about_the_same_place_and_a_letter_in_five_apart(
    reading, other, box, same
):
    assert same_line(reading, SIGN, other, box) is same
    assert same_line(other, box, reading, SIGN) is same
