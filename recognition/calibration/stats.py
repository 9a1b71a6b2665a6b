"""False-match and false-non-match rates of a similarity threshold, with confidence intervals.

A *genuine* pair is two faces of one person, an *impostor* pair faces of two
people; a score is their similarity, 0–100. At threshold ``t`` a pair counts as a
match when its score is ``>= t`` (as everywhere in Facesite):

- FMR (false-match rate): impostor pairs at or above ``t`` / impostor pairs;
- FNMR (false-non-match rate): genuine pairs below ``t`` / genuine pairs.

Intervals are Wilson score intervals at 95 % (Wilson 1927): unlike the normal
approximation they stay inside [0, 1] and are not empty when nothing failed, and
they are close to Clopper-Pearson's exact interval without its over-coverage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile
THRESHOLDS = tuple(range(50, 100))  # the table's rows, as the issue and the admin show them
FINE_STEP = 0.1  # the grid on which the equal-error point is found


@dataclass(frozen=True)
class Rate:
    errors: int
    trials: int
    low: float  # the 95 % interval, as fractions
    high: float

    @property
    def value(self) -> float | None:
        return self.errors / self.trials if self.trials else None


@dataclass(frozen=True)
class Row:
    threshold: float
    fmr: Rate
    fnmr: Rate


@dataclass(frozen=True)
class Calibration:
    genuine: int
    impostor: int
    rows: tuple[Row, ...]
    equal_error_threshold: float | None
    equal_error_rate: float | None
    target_fmr: float
    suggested: Row | None  # the lowest table threshold whose FMR is at or below the target
    impostors_needed: int  # for the target to be supported at all (rule of three)
    marked: tuple[Row, ...] = ()  # the rates at thresholds asked for by name (those in use)

    @property
    def enough_impostors(self) -> bool:
        return self.impostor >= self.impostors_needed


def wilson(errors: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``errors / trials``; (0, 1) when there were no trials."""
    if trials == 0:
        return 0.0, 1.0
    p = errors / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(errors: int, trials: int) -> Rate:
    low, high = wilson(errors, trials)
    return Rate(errors=errors, trials=trials, low=low, high=high)


def error_rates(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> Row:
    false_matches = int(np.count_nonzero(impostor >= threshold))
    false_non_matches = int(np.count_nonzero(genuine < threshold))
    return Row(threshold, fmr=rate(false_matches, impostor.size), fnmr=rate(false_non_matches, genuine.size))


def rule_of_three(target_fmr: float) -> int:
    """Impostor pairs needed before "no false match seen" bounds the FMR at ``target_fmr`` (95 %): 3 / target.

    With n pairs and no false match, the 95 % upper bound on the true rate is about 3/n (Hanley & Lippman-Hand
    1983), so a smaller sample cannot show that a rate as low as the target holds."""
    return math.ceil(3.0 / target_fmr)


def calibrate(
    genuine: Sequence[float] | np.ndarray,
    impostor: Sequence[float] | np.ndarray,
    *,
    target_fmr: float,
    thresholds: Sequence[float] = THRESHOLDS,
    marks: Sequence[float] = (),
) -> Calibration:
    g = np.asarray(genuine, dtype=np.float64)
    i = np.asarray(impostor, dtype=np.float64)
    rows = tuple(error_rates(g, i, t) for t in thresholds)
    suggested = next((r for r in rows if r.fmr.trials and r.fmr.errors / r.fmr.trials <= target_fmr), None)
    eer_threshold, eer = _equal_error(g, i)
    return Calibration(
        genuine=g.size,
        impostor=i.size,
        rows=rows,
        equal_error_threshold=eer_threshold,
        equal_error_rate=eer,
        target_fmr=target_fmr,
        suggested=suggested if g.size and i.size else None,
        impostors_needed=rule_of_three(target_fmr),
        marked=tuple(error_rates(g, i, t) for t in marks),
    )


def _equal_error(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float | None, float | None]:
    """Where FMR and FNMR cross on a 0.1 grid over 0–100: the threshold and the mean of the two rates there."""
    if not genuine.size or not impostor.size:
        return None, None
    grid = np.round(np.arange(0.0, 100.0 + FINE_STEP / 2, FINE_STEP), 1)
    fmr = 1.0 - np.searchsorted(np.sort(impostor), grid, side="left") / impostor.size
    fnmr = np.searchsorted(np.sort(genuine), grid, side="left") / genuine.size
    best = int(np.argmin(np.abs(fmr - fnmr)))
    return float(grid[best]), float((fmr[best] + fnmr[best]) / 2)
