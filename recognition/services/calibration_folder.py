"""Scoring a folder of photos labelled by person, for threshold calibration.

The folder holds one folder per person (``<person>/<photos>``), or one per group of people with their
folders inside (``<group>/<person>/<photos>``: children and adults, say), so the calibration can compare
groups. Each photo must show one face. Every pair of the photos' faces is scored by the engine in use
and only the scores are stored (``CalibrationPair``); scoring the same folder again replaces its pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.db import transaction

from recognition.audit import Actor, audit_record
from recognition.engine_handler import get_engine
from recognition.engines.embedding import EmbeddingEngine
from recognition.exceptions import FacesiteError, InvalidInput
from recognition.models import AuditEvent, CalibrationPair, Collection
from recognition.services.access import require_permission
from recognition.services.bulk import PHOTO_SUFFIXES, hidden, left_out
from recognition.services.calibration import CALIBRATE, pair_indexes, similarities
from recognition.validation import inspect_image

NOT_LABELLED = "not in a person's folder: <folder>/<person>/<photos>, or <folder>/<group>/<person>/<photos>"


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    person: str
    group: str


@dataclass
class FolderScored:
    photos: int = 0
    people: int = 0
    genuine: int = 0
    impostor: int = 0
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)  # files of the folder not read, with why


def labelled_photos(folder: Path) -> list[LabelledPhoto]:
    if not folder.is_dir():
        raise InvalidInput(f"{folder} is not a folder.", code="not_a_folder")
    photos = []
    for top in sorted(p for p in folder.iterdir() if p.is_dir() and not hidden((p.name,))):
        people = sorted(p for p in top.iterdir() if p.is_dir() and not hidden((p.name,)))
        for person, group in [(p, top.name) for p in people] if people else [(top, "")]:
            photos += [
                LabelledPhoto(path, person=f"{group}/{person.name}" if group else person.name, group=group)
                for path in sorted(person.iterdir())
                if path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES and not hidden((path.name,))
            ]
    if not photos:
        raise InvalidInput(
            f"No photos in {folder}: it should hold a folder of photos per person (<person>/<photos>), "
            "or per group of people (<group>/<person>/<photos>).",
            code="empty_folder",
        )
    return photos


def calibration_folder_score(
    *, folder: Path, collection: Collection, actor: Actor, progress: Callable[[LabelledPhoto, str], None] | None = None
) -> FolderScored:
    """Score every pair of the folder's faces into ``collection``'s calibration pairs."""
    require_permission(actor, CALIBRATE, to="calibrate thresholds")
    engine = get_engine()
    if not isinstance(engine, EmbeddingEngine):
        raise InvalidInput(
            f"The {engine.name} engine gives no embeddings here; scoring a folder with it would take one "
            "CompareFaces call per pair. Calibrate it from review decisions.",
            code="engine_without_embeddings",
        )
    photos = labelled_photos(folder)
    result = FolderScored(left_out=left_out(folder, read=(str(p.path) for p in photos), elsewhere=NOT_LABELLED))
    kept: list[tuple[LabelledPhoto, np.ndarray]] = []
    for photo in photos:
        reason = ""
        try:
            data = photo.path.read_bytes()
            inspect_image(data)  # refuses what is no image, truncated, or a decompression bomb, with its reason
            faces = engine.detect_faces(data, attributes=False)
        except (OSError, FacesiteError) as exc:
            reason = getattr(exc, "message", None) or str(exc)
        else:
            if len(faces) != 1 or faces[0].embedding is None:
                reason = "no face found" if not faces else f"{len(faces)} faces: a labelled photo shows one"
            else:
                kept.append((photo, faces[0].embedding))
        if reason:
            result.skipped.append((photo.path, reason))
        if progress:
            progress(photo, reason)
    rows = _pairs(kept, engine=engine, collection=collection, source=str(folder.resolve()))
    result.photos = len(kept)
    result.people = len({photo.person for photo, _ in kept})
    result.genuine = sum(1 for row in rows if row.genuine)
    result.impostor = len(rows) - result.genuine
    with transaction.atomic():
        replaced, _ = CalibrationPair.objects.filter(collection=collection, source=str(folder.resolve())).delete()
        CalibrationPair.objects.bulk_create(rows, batch_size=5000)
        audit_record(
            actor=actor, action=AuditEvent.Action.CALIBRATION_PAIRS_ADD, target=collection,
            folder=str(folder.resolve()), photos=result.photos, people=result.people, skipped=len(result.skipped),
            genuine=result.genuine, impostor=result.impostor, replaced=replaced,
        )  # fmt: skip
    return result


def calibration_pairs_clear(*, collection: Collection, actor: Actor) -> int:
    """Remove every scored folder's pairs from ``collection``'s calibration."""
    require_permission(actor, CALIBRATE, to="calibrate thresholds")
    with transaction.atomic():
        removed, _ = CalibrationPair.objects.filter(collection=collection).delete()
        audit_record(actor=actor, action=AuditEvent.Action.CALIBRATION_PAIRS_CLEAR, target=collection,
                     removed=removed)  # fmt: skip
    return removed


def _pairs(
    kept: list[tuple[LabelledPhoto, np.ndarray]], *, engine: EmbeddingEngine, collection: Collection, source: str
) -> list[CalibrationPair]:
    if len(kept) < 2:
        return []
    photos = [photo for photo, _ in kept]
    matrix = np.vstack([vector for _, vector in kept]).astype(np.float64)
    genuine, impostor = pair_indexes([p.person for p in photos], rng=np.random.default_rng(0))
    rows = []
    for is_genuine, pairs in ((True, genuine), (False, impostor)):
        if not len(pairs):
            continue
        scores = similarities(engine, matrix[pairs[:, 0]], matrix[pairs[:, 1]])
        for (i, j), score in zip(pairs, scores, strict=True):
            a, b = photos[i], photos[j]
            group = a.group if a.group == b.group else ""  # a pair across groups belongs to neither
            rows.append(
                CalibrationPair(
                    collection=collection,
                    genuine=is_genuine,
                    score=score,
                    group=group,
                    source=source,
                    engine=engine.name,
                    model_version=engine.model_version,
                )
            )
    return rows
