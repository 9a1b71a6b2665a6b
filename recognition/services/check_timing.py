"""How long the synchronous face checks (search, verify, compare) take, for ``/metrics``.

A Prometheus histogram in the process that answers the check. gunicorn runs several processes: with
``PROMETHEUS_MULTIPROC_DIR`` set (``make run`` and the image set it) each writes its counts there and
``/metrics`` adds them up, whichever process is asked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from prometheus_client import Histogram

P = ParamSpec("P")
R = TypeVar("R")

CHECK_SECONDS = Histogram(
    "facesite_check_seconds",
    "How long synchronous face checks took, from the photo received to the answer (errors included).",
    ["check"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def timed_check(check: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Count the decorated service's calls and their duration under ``check``."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            with CHECK_SECONDS.labels(check).time():
                return function(*args, **kwargs)

        return timed

    return decorate
