"""Labels and moderation labels in a video's sampled frames: found frame by frame by its chunks, kept as rows
once the video is done, and read back as the engine's own results (what the Rekognition-compatible API's
label detection and content moderation jobs answer)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from recognition.engines.base import Analysis, BoundingBox, Label, LabelInstance, ModerationLabel
from videos.models import Video, VideoLabel

Found = TypeVar("Found", Label, ModerationLabel)


def frame_labels(analysis: Analysis, *, at: float) -> list[list[Any]]:
    """The labels and moderation labels of one frame's analysis as ``[at, kind, name, confidence, details]``:
    what a chunk keeps until the video is done."""
    labels = [[at, VideoLabel.Kind.LABEL, label.name, label.confidence, _label_details(label)]
              for label in analysis.labels]  # fmt: skip
    moderation = [[at, VideoLabel.Kind.MODERATION, label.name, label.confidence,
                   {"parent_name": label.parent_name, "taxonomy_level": label.taxonomy_level}]
                  for label in analysis.moderation]  # fmt: skip
    return labels + moderation


def labels_record(video: Video, found: Iterable[list[Any]]) -> int:
    """Keep the chunks' labels as the video's rows (call inside the transaction that marks it done); how many."""
    rows = [VideoLabel(video=video, at=at, kind=kind, name=name[:200], confidence=confidence, details=details)
            for at, kind, name, confidence, details in found]  # fmt: skip
    VideoLabel.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def video_labels(video: Video) -> list[tuple[float, Label]]:
    """Each label at each frame it was found in, by time: when (seconds) and the label."""
    return [(row.at, _label(row)) for row in video.labels.filter(kind=VideoLabel.Kind.LABEL).order_by("at", "pk")]


def video_moderation(video: Video) -> list[tuple[float, ModerationLabel]]:
    """Each moderation label at each frame it was found in, by time."""
    rows = video.labels.filter(kind=VideoLabel.Kind.MODERATION).order_by("at", "pk")
    return [(row.at, ModerationLabel(name=row.name, confidence=row.confidence, **row.details)) for row in rows]


def _label_details(label: Label) -> dict[str, Any]:
    return {
        "parents": list(label.parents), "aliases": list(label.aliases), "categories": list(label.categories),
        "instances": [[*_box(i.bounding_box), round(i.confidence, 3)] for i in label.instances],
    }  # fmt: skip


def _box(box: BoundingBox) -> list[float]:
    return [round(box.left, 4), round(box.top, 4), round(box.width, 4), round(box.height, 4)]


def _label(row: VideoLabel) -> Label:
    details = row.details
    instances = [LabelInstance(BoundingBox(*box), confidence) for *box, confidence in details.get("instances", ())]
    return Label(
        name=row.name, confidence=row.confidence, parents=tuple(details.get("parents", ())),
        aliases=tuple(details.get("aliases", ())), categories=tuple(details.get("categories", ())),
        instances=tuple(instances),
    )  # fmt: skip


@dataclass(frozen=True)
class Segment(Generic[Found]):
    """One label found in consecutive sampled frames: from when to when (seconds), in how many frames, and
    its most confident finding among them."""

    start: float
    end: float
    frames: int
    best: Found


def segments(found: list[tuple[float, Found]], *, every: float) -> list[Segment[Found]]:
    """``found`` (by time) as segments: a label's findings a sampling interval (``every`` seconds) apart join
    one; a sampled frame without it ends it. By start, then name."""
    done: list[Segment[Found]] = []
    running: dict[str, Segment[Found]] = {}
    for at, label in found:
        current = running.get(label.name)
        if current is not None and at - current.end <= 1.5 * every:
            best = label if label.confidence > current.best.confidence else current.best
            running[label.name] = Segment(current.start, at, current.frames + 1, best)
            continue
        if current is not None:
            done.append(current)
        running[label.name] = Segment(at, at, 1, label)
    done.extend(running.values())
    return sorted(done, key=lambda s: (s.start, s.best.name))


def video_label_segments(video: Video) -> list[dict[str, Any]]:
    """The video's labels and moderation labels as segments, by start: what its page and the REST API show."""
    every = 1.0 / video.sample_rate
    found: list[tuple[str, Segment[Label] | Segment[ModerationLabel]]] = [
        *((VideoLabel.Kind.LABEL, s) for s in segments(video_labels(video), every=every)),
        *((VideoLabel.Kind.MODERATION, s) for s in segments(video_moderation(video), every=every)),
    ]
    found.sort(key=lambda kind_segment: (kind_segment[1].start, kind_segment[1].best.name))
    return [{"kind": kind, "name": s.best.name, "parents": _parents(s.best), "first_at": s.start, "last_at": s.end,
             "frames": s.frames, "confidence": s.best.confidence} for kind, s in found]  # fmt: skip


def _parents(label: Label | ModerationLabel) -> list[str]:
    if isinstance(label, Label):
        return list(label.parents)
    return [label.parent_name] if label.parent_name else []
