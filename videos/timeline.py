"""A video's followed faces one sampled frame at a time, read from a place on: in time order across its
sightings, or sighting by sighting (in the order they began). Only the sightings a page reaches are read, so
a page of a long video's faces costs what a page of a short one does."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

from django.db.models import Q, QuerySet

from videos.models import Sighting

BATCH = 50  # sightings read at a time


@dataclass(frozen=True)
class SeenFace:
    """A sighting's face as sampled at ``at`` seconds: its ``index``-th box (and details)."""

    at: float
    sighting: Sighting
    index: int

    def by_time(self) -> list[Any]:
        """Its place in time order: when, then its sighting's place (``faces_by_time``'s ``after``)."""
        return [self.at, self.sighting.first_at, self.sighting.pk]

    def by_sighting(self) -> list[Any]:
        """Its place sighting by sighting (``faces_by_sighting``'s ``after``)."""
        return [self.sighting.first_at, self.sighting.pk, self.index]


def faces_by_time(sightings: QuerySet[Sighting], *, after: list[Any] | None = None) -> Iterator[SeenFace]:
    """Each sampled face of ``sightings`` by time, then by sighting as they began, from the one after
    ``after`` (``SeenFace.by_time``). Sightings over by then are not read; the others are read as the time
    reaches their start."""
    if after is not None:
        sightings = sightings.filter(last_at__gte=after[0])
    upcoming = _in_order(sightings)
    following = next(upcoming, None)
    waiting: list[tuple[float, float, int, int, Sighting]] = []  # each sighting's next face, the earliest first
    while waiting or following is not None:
        while following is not None and (not waiting or following.first_at <= waiting[0][0]):
            first = _first_after(following, after, by_time=True)
            if first is not None:
                heapq.heappush(waiting, (following.boxes[first][0], following.first_at, following.pk, first, following))
            following = next(upcoming, None)
        if not waiting:
            continue
        at, first_at, pk, index, sighting = heapq.heappop(waiting)
        yield SeenFace(at, sighting, index)
        if index + 1 < len(sighting.boxes):
            heapq.heappush(waiting, (sighting.boxes[index + 1][0], first_at, pk, index + 1, sighting))


def faces_by_sighting(sightings: QuerySet[Sighting], *, after: list[Any] | None = None) -> Iterator[SeenFace]:
    """Each sampled face of ``sightings``, sighting by sighting as they began, each by time, from the one
    after ``after`` (``SeenFace.by_sighting``)."""
    if after is not None:
        first_at, pk, _ = after
        sightings = sightings.filter(Q(first_at__gt=first_at) | Q(first_at=first_at, pk__gte=pk))
    for sighting in _in_order(sightings):
        first = _first_after(sighting, after, by_time=False)
        if first is None:
            continue
        for index in range(first, len(sighting.boxes)):
            yield SeenFace(sighting.boxes[index][0], sighting, index)


def sighting_indexes(sightings: QuerySet[Sighting], among: list[Sighting]) -> dict[Any, int]:
    """Where each of ``among`` (and any that began between them) is in ``sightings`` as they began, 0 the
    first: Rekognition's ``Index``."""
    if not among:
        return {}
    earliest = min(among, key=lambda s: (s.first_at, s.pk))
    before = sightings.filter(Q(first_at__lt=earliest.first_at) | Q(first_at=earliest.first_at, pk__lt=earliest.pk))
    latest = max(s.first_at for s in among)
    span = sightings.filter(Q(first_at__gt=earliest.first_at) | Q(first_at=earliest.first_at, pk__gte=earliest.pk),
                            first_at__lte=latest)  # fmt: skip
    start = before.count()
    return {pk: start + i for i, pk in enumerate(span.order_by("first_at", "pk").values_list("pk", flat=True))}


def _in_order(sightings: QuerySet[Sighting]) -> Iterator[Sighting]:
    """``sightings`` as they began, read ``BATCH`` at a time."""
    ordered = sightings.order_by("first_at", "pk")
    for start in count(0, BATCH):
        batch = list(ordered[start : start + BATCH])
        yield from batch
        if len(batch) < BATCH:
            return


def _first_after(sighting: Sighting, after: list[Any] | None, *, by_time: bool) -> int | None:
    """The index of the sighting's first face past ``after``; None if it has none left."""
    for index, seen in enumerate(sighting.boxes):
        face = SeenFace(seen[0], sighting, index)
        if after is None or (face.by_time() if by_time else face.by_sighting()) > after:
            return index
    return None
