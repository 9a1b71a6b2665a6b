"""Progress shown by long management commands, and the counts they report."""

from __future__ import annotations

from typing import Any


class ProgressBar:
    """A bar redrawn in place on a terminal; one line per tenth of the way elsewhere (logs, CI)."""

    WIDTH = 30

    def __init__(self, out: Any, *, total: int):
        self.out, self.total, self.done = out, total, 0
        self.live = out.isatty()
        self._last_tenth = 0

    def advance(self, step: int = 1) -> None:
        self.done += step
        if self.live:
            filled = self.WIDTH * self.done // max(self.total, 1)
            self.out.write(f"\r  [{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total}", ending="")
            self.out.flush()
        elif (tenth := 10 * self.done // max(self.total, 1)) > self._last_tenth or self.done == self.total:
            self._last_tenth = tenth
            self.out.write(f"  {self.done}/{self.total}")

    def note(self, line: str) -> None:
        self.out.write(("\n" if self.live else "") + line)

    def finish(self) -> None:
        if self.live and self.total:
            self.out.write("")


def counted(number: int, thing: str, things: str = "") -> str:
    """``1 photo``, ``2 photos``; ``things`` where the plural is not ``thing`` + s (``1 person``, ``2 people``)."""
    return f"{number} {thing if number == 1 else things or thing + 's'}"
