"""The calibration as one SVG picture: the two score histograms, and the DET curve (FNMR against FMR).

Drawn server-side by matplotlib's SVG backend (no pyplot, no display); the picture carries its
own fonts as paths, so the page needs nothing from elsewhere.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from recognition.calibration.stats import THRESHOLDS, Calibration

GENUINE_COLOUR = "#2e7d32"
IMPOSTOR_COLOUR = "#c62828"
MARK_COLOUR = "#1565c0"


def calibration_svg(calibration: Calibration, genuine: np.ndarray, impostor: np.ndarray, *, title: str) -> str:
    out = io.StringIO()
    calibration_figure(calibration, genuine, impostor, title=title).savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def calibration_figure(calibration: Calibration, genuine: np.ndarray, impostor: np.ndarray, *, title: str) -> Figure:
    figure = Figure(figsize=(10, 4), layout="constrained")
    figure.suptitle(title)
    histograms, det = figure.subplots(1, 2)
    _histograms(histograms, calibration, genuine, impostor)
    _det_curve(det, calibration)
    return figure


def _histograms(axes, calibration: Calibration, genuine: np.ndarray, impostor: np.ndarray) -> None:
    bins = np.linspace(0, 100, 51)
    # Each kind as shares of its own pairs: impostor pairs often outnumber genuine ones a thousand to one.
    for scores, colour, kind in ((impostor, IMPOSTOR_COLOUR, "impostor"), (genuine, GENUINE_COLOUR, "genuine")):
        if scores.size:
            weights = np.full(scores.size, 1.0 / scores.size)
            axes.hist(scores, bins=bins, weights=weights, color=colour, alpha=0.6, label=f"{kind} ({scores.size})")
    for row in calibration.marked:
        axes.axvline(row.threshold, color=MARK_COLOUR, linestyle="--", linewidth=1)
    if calibration.suggested is not None:
        axes.axvline(calibration.suggested.threshold, color=MARK_COLOUR, linewidth=1.5, label="suggested")
    axes.set_xlabel("similarity (0–100)")
    axes.set_ylabel("share of pairs")
    axes.set_title("Scores (dashed: thresholds in use)")
    axes.legend(loc="upper center", fontsize="small")
    axes.set_xlim(0, 100)


def _det_curve(axes, calibration: Calibration) -> None:
    # Zero rates cannot sit on a log axis: they are drawn at half of one error in the sample.
    fmr_floor = 0.5 / max(calibration.impostor, 1)
    fnmr_floor = 0.5 / max(calibration.genuine, 1)
    fmr = [max(r.fmr.value or 0.0, fmr_floor) for r in calibration.rows]
    fnmr = [max(r.fnmr.value or 0.0, fnmr_floor) for r in calibration.rows]
    axes.plot(fmr, fnmr, color="black", marker=".", markersize=3)
    for row, x, y in zip(calibration.rows, fmr, fnmr, strict=True):
        if row.threshold % 10 == 0 or row.threshold == THRESHOLDS[-1]:
            axes.annotate(f"{row.threshold:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize="small")
    for row in calibration.marked:
        axes.plot(max(row.fmr.value or 0.0, fmr_floor), max(row.fnmr.value or 0.0, fnmr_floor), "o", color=MARK_COLOUR)
    axes.axvline(calibration.target_fmr, color=IMPOSTOR_COLOUR, linestyle=":", linewidth=1, label="target FMR")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlim(min(fmr_floor, calibration.target_fmr) / 2, 1.5)
    axes.set_ylim(fnmr_floor / 2, 1.5)
    axes.set_xlabel("false-match rate")
    axes.set_ylabel("false-non-match rate")
    axes.set_title("DET curve (labels: thresholds; dots: in use)")
    axes.legend(loc="upper right", fontsize="small")
