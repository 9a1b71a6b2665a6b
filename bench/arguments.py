"""Argument types for the benchmarks' command lines: a count or a duration of zero or less is refused with a
message, rather than ending the run in a division by zero or, for a worker's concurrency, meaning "one per
CPU" to Celery."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:  # NaN too
        raise argparse.ArgumentTypeError(f"{text!r} is not a number above 0")
    return value
