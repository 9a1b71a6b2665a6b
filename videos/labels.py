"""Labels, moderation labels and text in a video's sampled frames: found frame by frame by its chunks, and kept
once the video is done as rows of two kinds: each frame's findings, and each stretch of frames a
label (or a line of text) was found in. Rows read back as the engine's own results, which is what the
Rekognition-compatible API's label detection, content moderation and text detection jobs answer, a page at a
time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, QuerySet

from recognition.engines.base import Analysis, BoundingBox, Label, LabelInstance, ModerationLabel, TextDetection
from videos.models import Video, VideoLabel, VideoLabelSegment
from videos.readings import same_line, squeezed
from videos.tracking import GAP_FRAMES

#: A label's findings this many sampling intervals apart, or closer, are one stretch: it goes on through frames
#: that missed it (a classifier wavering at its threshold, a blurred frame OCR cannot read) as a face's track does,
#: and ends after ``GAP_FRAMES`` sampled frames without it. The half keeps float timestamps on the right side.
JOINED = GAP_FRAMES + 0.5
#: The readings of a line of text a stretch keeps for searches: those found in most of its frames.
MAX_READINGS = 20


def frame_labels(analysis: Analysis, *, at: float, min_text_confidence: float = 0.0) -> list[list[Any]]:
    """The labels, moderation labels and text of one frame's analysis as ``[at, kind, name, confidence,
    details]``: what a chunk keeps until the video is done. Lines and words of text read less surely than
    ``min_text_confidence`` are left out, and so are the words of a line left out (the engine has kept its
    labels at the video's ``min_confidence`` already)."""
    labels = [[at, VideoLabel.Kind.LABEL, label.name, label.confidence, _label_details(label)]
              for label in analysis.labels]  # fmt: skip
    moderation = [[at, VideoLabel.Kind.MODERATION, label.name, label.confidence,
                   {"parent_name": label.parent_name, "taxonomy_level": label.taxonomy_level}]
                  for label in analysis.moderation]  # fmt: skip
    sure = [found for found in analysis.text if found.confidence >= min_text_confidence]
    lines = {found.id for found in sure if found.type == "LINE"}
    text = [[at, VideoLabel.Kind.TEXT, found.text, found.confidence, _text_details(found)]
            for found in sure if found.parent_id is None or found.parent_id in lines]  # fmt: skip
    return labels + moderation + text


def labels_record(video: Video, found: Iterable[list[Any]]) -> int:
    """Keep the chunks' labels (by time) as the video's rows, each frame's and each stretch's (call inside the
    transaction that marks it done); how many frames' findings."""
    rows = [VideoLabel(video=video, at=at, kind=kind, name=name[:200], confidence=confidence, details=details)
            for at, kind, name, confidence, details in found]  # fmt: skip
    VideoLabel.objects.bulk_create(rows, batch_size=1000)
    _stretches_keep(video, rows)
    return len(rows)


def stretches_recut(video: Video) -> tuple[int, int]:
    """Cut a done video's stretches again from its frames' findings, as they are cut today (after an upgrade
    that cut them otherwise); how many it had and has. In one transaction: readers see the old or the new."""
    with transaction.atomic():
        before, _ = video.label_segments.all().delete()
        rows = video.labels.order_by("at", "pk").iterator(chunk_size=5000)  # as they were recorded
        return before, _stretches_keep(video, rows)


def _stretches_keep(video: Video, rows: Iterable[VideoLabel]) -> int:
    lines = (row for row in rows if not _is_word(row))  # a word's stretch would repeat its line's
    kept = VideoLabelSegment.objects.bulk_create(stretches(lines, every=1.0 / video.sample_rate), batch_size=1000)
    return len(kept)


def stretches(
    rows: Iterable[VideoLabel], *, every: float, model: type[VideoLabelSegment] = VideoLabelSegment
) -> list[VideoLabelSegment]:
    """``rows`` (by time) as stretches, unsaved (``model``: a migration's own): a label's findings up to
    ``JOINED`` sampling intervals (``every`` seconds) apart join one; ``GAP_FRAMES`` sampled frames without it in a
    row end it. The same name twice in one
    frame (a sign on two doors) is one frame of its stretch. A line of text read a little differently in a
    frame soon after, in about the same place (``videos.readings.same_line``), joins the line's stretch, which is
    named after the reading found in most of its frames and keeps that reading's most confident finding."""
    opened: list[_Stretch] = []
    running: dict[tuple[str, str], _Stretch] = {}
    recent_text: list[_Stretch] = []  # lines of text found in the last frames, which a misreading may continue
    for row in rows:
        current = running.get((row.kind, row.name))
        if current is None or row.at - current.end > JOINED * every:
            current = None
            if row.kind == VideoLabel.Kind.TEXT:
                recent_text = [line for line in recent_text if row.at - line.end <= JOINED * every]
                current = next((line for line in recent_text if line.continued_by(row)), None)
            if current is None:
                current = _Stretch(row)
                opened.append(current)
                if row.kind == VideoLabel.Kind.TEXT:
                    recent_text.append(current)
            running[(row.kind, row.name)] = current
        current.add(row)
    return [stretch.segment(model) for stretch in opened]


class _Stretch:
    """A stretch being found: its first row, the frames it was found in, its last box, and each reading's frames
    and best row."""

    def __init__(self, first: VideoLabel) -> None:
        self.first, self.seen = first, _Frames(last=first.at)
        self.box: list[float] = []
        self.readings: dict[str, _Reading] = {}

    @property
    def end(self) -> float:
        return self.seen.last

    def continued_by(self, row: VideoLabel) -> bool:
        """Whether ``row``, a line of text in a later frame, is this one misread."""
        return row.at > self.end and any(
            same_line(reading, self.box, row.name, row.details["box"]) for reading in self.readings
        )

    def add(self, row: VideoLabel) -> None:
        self.seen.see(row.at)
        self.box = row.details.get("box", self.box)
        reading = self.readings.setdefault(row.name, _Reading(best=row, seen=_Frames(last=row.at)))
        reading.seen.see(row.at)
        if row.confidence > reading.best.confidence:
            reading.best = row

    def segment(self, model: type[VideoLabelSegment]) -> VideoLabelSegment:
        """The stretch, named after the reading found in most frames; its ``readings`` are those found in most
        frames, at most ``MAX_READINGS`` (a long stretch of noisy text can be read a thousand ways)."""
        ranked = sorted(self.readings.items(), key=lambda item: (-item[1].seen.count, -item[1].best.confidence))
        name, reading = ranked[0]
        found = model(
            video_id=self.first.video_id, kind=self.first.kind, name=name, start=self.first.at, end=self.end,
            frames=self.seen.count, confidence=reading.best.confidence, details=reading.best.details,
        )  # fmt: skip
        # Set apart from the fields: migration 0011's VideoLabelSegment has no ``readings`` yet.
        found.readings = "\n".join(dict.fromkeys(squeezed(each) for each, _ in ranked[:MAX_READINGS]))
        return found


@dataclass
class _Frames:
    """The sampled frames something was found in: how many, and the last. A second finding in the same frame
    (a sign on two doors) is not another frame."""

    last: float
    count: int = 0

    def see(self, at: float) -> None:
        if not self.count or at > self.last:
            self.count += 1
        self.last = at


@dataclass
class _Reading:
    best: VideoLabel
    seen: _Frames


def label_of(row: VideoLabel | VideoLabelSegment) -> Label:
    """A label row (a frame's, or a stretch's most confident) as the engine's ``Label``."""
    details = row.details
    instances = [LabelInstance(BoundingBox(*box), confidence) for *box, confidence in details.get("instances", ())]
    return Label(
        name=row.name, confidence=row.confidence, parents=tuple(details.get("parents", ())),
        aliases=tuple(details.get("aliases", ())), categories=tuple(details.get("categories", ())),
        instances=tuple(instances),
    )  # fmt: skip


def moderation_of(row: VideoLabel | VideoLabelSegment) -> ModerationLabel:
    """A moderation label row as the engine's ``ModerationLabel``."""
    return ModerationLabel(name=row.name, confidence=row.confidence, **row.details)


def text_of(row: VideoLabel) -> TextDetection:
    """A text row (a frame's line or word) as the engine's ``TextDetection``."""
    details = row.details
    return TextDetection(
        text=row.name, type=details["type"], confidence=row.confidence, bounding_box=BoundingBox(*details["box"]),
        id=details["id"], parent_id=details.get("parent_id"), polygon=tuple((x, y) for x, y in details["polygon"]),
    )  # fmt: skip


def video_label_segments(video: Video) -> list[dict[str, Any]]:
    """The video's labels, moderation labels and lines of text as stretches, by start: what the REST API and its
    ``video.analysed`` document show."""
    return [stretch_json(values) for values in stretch_values(video.label_segments.order_by("start", "name", "pk"))]


def stretches_of(**found: Any) -> QuerySet[VideoLabelSegment]:
    """The stretches such as ``found`` of a video, the outer query's row: ``Exists(stretches_of(…))`` keeps the
    videos with one, each once however many it has, a subquery for each video rather than a join through a
    long video's hundred thousand stretches whose rows must be made distinct again."""
    return VideoLabelSegment.objects.filter(video=OuterRef("pk"), **found)


def holding(stretches: QuerySet[VideoLabelSegment], part: str) -> QuerySet[VideoLabelSegment]:
    """The stretches whose name, or another reading of their line of text, holds ``part``, any case and whatever
    its spaces: OCR reads a plate's gaps as it sees them, so "ab123" finds "AB 123 CD", and "AB 123" finds
    "AB123CD"."""
    return stretches.filter(readings__contains=squeezed(part))


def stretch_values(rows: QuerySet[VideoLabelSegment]) -> QuerySet[Any]:
    """What ``stretch_json`` reads of each stretch, as values, its parents alone from its details: a long video
    has a hundred thousand stretches, and their rows' whole details need not be decoded to show them."""
    return rows.values_list(
        "kind", "name", "start", "end", "frames", "confidence", "details__parents", "details__parent_name"
    )


def stretch_json(values: tuple[Any, ...]) -> dict[str, Any]:
    """A stretch (its ``stretch_values``) as the REST API and ``video.analysed`` show it."""
    kind, name, start, end, frames, confidence, parents, parent_name = values
    return {"kind": kind, "name": name, "parents": _parents_of(kind, parents, parent_name), "first_at": start,
            "last_at": end, "frames": frames, "confidence": confidence}  # fmt: skip


def frame_values(rows: QuerySet[VideoLabel]) -> QuerySet[Any]:
    """A video's findings frame by frame, its words left out (their lines hold them), as what ``frame_json``
    reads of each: its boxes alone of its details."""
    lines = rows.exclude(kind=VideoLabel.Kind.TEXT, details__type="WORD")
    return lines.values_list("at", "kind", "name", "confidence", "details__box", "details__instances")


def frame_json(values: tuple[Any, ...]) -> dict[str, Any]:
    """A finding in one frame (its ``frame_values``) as the REST API shows it: a line of text's box, a label's
    instances' boxes (none for a moderation label, or a label of the whole picture)."""
    at, kind, name, confidence, box, instances = values
    boxes = [box] if box else [instance[:4] for instance in instances or ()]
    return {"at": at, "kind": kind, "name": name, "confidence": confidence, "boxes": boxes}


def _label_details(label: Label) -> dict[str, Any]:
    return {
        "parents": list(label.parents), "aliases": list(label.aliases), "categories": list(label.categories),
        "instances": [[*_box(i.bounding_box), round(i.confidence, 3)] for i in label.instances],
    }  # fmt: skip


def _text_details(text: TextDetection) -> dict[str, Any]:
    return {"type": text.type, "id": text.id, "parent_id": text.parent_id, "box": _box(text.bounding_box),
            "polygon": [[round(x, 4), round(y, 4)] for x, y in text.polygon]}  # fmt: skip


def _is_word(row: VideoLabel) -> bool:
    return row.kind == VideoLabel.Kind.TEXT and row.details.get("type") == "WORD"


def _box(box: BoundingBox) -> list[float]:
    return [round(box.left, 4), round(box.top, 4), round(box.width, 4), round(box.height, 4)]


@dataclass
class LabelFound:
    """A label (or moderation label) across a video: where its first stretches begin, how many it has, in how
    many sampled frames it was found, and its highest confidence."""

    kind: str
    name: str
    starts: list[float]
    stretches: int = 0
    frames: int = 0
    confidence: float = 0.0
    parents: list[str] = field(default_factory=list)

    @property
    def more(self) -> int:
        """Its stretches beyond those whose starts are listed."""
        return self.stretches - len(self.starts)


def labels_found(video: Video, *, starts: int = 12) -> list[LabelFound]:
    """Each label found in the video, in the order they were first found, with the starts of its first
    ``starts`` stretches: what the video's page lists, as long as the labels' vocabulary however long the
    video (a 3-hour video can have a hundred thousand stretches)."""
    found: dict[tuple[str, str], LabelFound] = {}
    first: dict[tuple[str, str], int] = {}
    rows = video.label_segments.order_by("start", "name", "pk")
    for pk, kind, name, start, frames, confidence in rows.values_list(
        "pk", "kind", "name", "start", "frames", "confidence"
    ):  # fmt: skip
        label = found.setdefault((kind, name), LabelFound(kind, name, starts=[]))
        first.setdefault((kind, name), pk)
        if len(label.starts) < starts:
            label.starts.append(start)
        label.stretches, label.frames = label.stretches + 1, label.frames + frames
        label.confidence = max(label.confidence, confidence)
    for kind, name, parents, parent_name in VideoLabelSegment.objects.filter(pk__in=first.values()).values_list(
        "kind", "name", "details__parents", "details__parent_name"
    ):  # fmt: skip
        found[(kind, name)].parents = _parents_of(kind, parents, parent_name)
    return list(found.values())


def _parents_of(kind: str, parents: list[str] | None, parent_name: str | None) -> list[str]:
    """A label's parents, or a moderation label's category (text has neither)."""
    if kind == VideoLabel.Kind.LABEL:
        return list(parents or ())
    return [parent_name] if parent_name else []
