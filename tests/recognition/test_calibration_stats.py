"""Error rates, intervals and suggested thresholds on small score sets counted by hand (no Django needed)."""

import pytest

from recognition.calibration.stats import calibrate, rate, rule_of_three, wilson

# Five genuine and ten impostor similarities.
GENUINE = [95, 90, 85, 70, 60]
IMPOSTOR = [10, 20, 30, 35, 40, 45, 50, 55, 65, 82]


def row_at(calibration, threshold):
    return next(row for row in calibration.rows if row.threshold == threshold)


@pytest.mark.parametrize(
    ("threshold", "false_matches", "false_non_matches"),
    [
        (50, 4, 0),  # impostors 50, 55, 65, 82 match; every genuine pair does too
        (60, 2, 0),  # 65, 82; 60 itself matches (>=)
        (61, 2, 1),  # the genuine 60 no longer does
        (80, 1, 2),  # 82; genuine 70 and 60 miss
        (99, 0, 5),
    ],
)
def test_rates_match_a_hand_count(threshold, false_matches, false_non_matches):
    row = row_at(calibrate(GENUINE, IMPOSTOR, target_fmr=0.1), threshold)
    assert (row.fmr.errors, row.fmr.trials) == (false_matches, 10)
    assert (row.fnmr.errors, row.fnmr.trials) == (false_non_matches, 5)
    assert row.fmr.value == false_matches / 10


@pytest.mark.parametrize(
    ("target", "suggested", "fnmr_errors"),
    [
        (0.1, 66, 1),  # from 66 only 82 matches (1/10); at 65 two do; at 66 the genuine 60 is lost
        (0.2, 56, 0),  # 65 and 82 (2/10); at 55 three
        (0.05, 83, 2),  # nothing matches any more from 83
    ],
)
def test_suggested_threshold_is_the_lowest_that_keeps_to_the_target(target, suggested, fnmr_errors):
    calibration = calibrate(GENUINE, IMPOSTOR, target_fmr=target)
    assert calibration.suggested.threshold == suggested
    assert calibration.suggested.fnmr.errors == fnmr_errors


def test_no_suggestion_when_no_threshold_keeps_to_the_target():
    assert calibrate(GENUINE, [*IMPOSTOR, 99.5], target_fmr=0.05).suggested is None


def test_equal_error_point_is_where_the_two_rates_cross():
    calibration = calibrate(GENUINE, IMPOSTOR, target_fmr=0.1)
    # Above 60 and up to 65: two impostors of ten match and one genuine pair of five misses, 0.2 each.
    assert 60 < calibration.equal_error_threshold <= 65
    assert calibration.equal_error_rate == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("errors", "trials", "low", "high"),
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score, no continuity correction).
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_interval_matches_published_values(errors, trials, low, high):
    assert wilson(errors, trials) == pytest.approx((low, high), abs=1e-4)


def test_intervals_widen_with_fewer_pairs():
    widths = [rate(n // 10, n).high - rate(n // 10, n).low for n in (1000, 100, 10)]
    assert widths[0] < widths[1] < widths[2]
    assert rate(0, 0).low == 0.0 and rate(0, 0).high == 1.0  # nothing measured: nothing known


def test_rule_of_three_says_how_many_impostor_pairs_a_target_needs():
    assert rule_of_three(0.001) == 3000
    assert not calibrate(GENUINE, [10.0] * 2999, target_fmr=0.001).enough_impostors
    assert calibrate(GENUINE, [10.0] * 3000, target_fmr=0.001).enough_impostors
    # With no false match in n pairs, the interval's upper end is close to 3/n.
    assert wilson(0, 3000)[1] == pytest.approx(3 / 3000, rel=0.35)
