"""Threshold calibration from the operator's own labelled pairs, and setting a collection's match threshold.

Pairs come from three sources, each scored by the engine and model in use now:

- ``review``: review decisions. A face confirmed as its candidate is a genuine pair at the similarity it was
  matched with; a face rejected, or reassigned to someone else, is an impostor pair with its candidate.
- ``enrolled``: reference faces. Two of one person are a genuine pair, two of different people an impostor
  pair (sampled when there are more than ``MAX_IMPOSTOR_PAIRS``). Needs an engine that computes embeddings.
- ``folder``: photos labelled by person, scored by ``manage.py calibrate --add-folder``
  (``recognition.services.calibration_folder``), which may also name groups of people.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import transaction

from recognition.audit import Actor, audit_record
from recognition.calibration.plots import calibration_svg
from recognition.calibration.stats import Calibration, Row, calibrate, error_rates
from recognition.engine_handler import get_engine
from recognition.engines.base import BaseEngine
from recognition.engines.embedding import EmbeddingEngine
from recognition.exceptions import InvalidInput
from recognition.models import AuditEvent, CalibrationPair, Collection, Face
from recognition.services.access import require_permission

SOURCES = ("review", "enrolled", "folder")
MAX_IMPOSTOR_PAIRS = 100_000
CALIBRATE = "recognition.calibrate_collection"


@dataclass
class Scores:
    """Similarities of labelled pairs, by source and by labelled group."""

    genuine: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SOURCES})
    impostor: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SOURCES})
    groups: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def all_genuine(self) -> np.ndarray:
        return np.array([s for scores in self.genuine.values() for s in scores], dtype=np.float64)

    def all_impostor(self) -> np.ndarray:
        return np.array([s for scores in self.impostor.values() for s in scores], dtype=np.float64)

    def add(self, other: Scores) -> None:
        for source in SOURCES:
            self.genuine[source] += other.genuine[source]
            self.impostor[source] += other.impostor[source]
        for name, (genuine, impostor) in other.groups.items():
            mine = self.groups.setdefault(name, ([], []))
            mine[0].extend(genuine)
            mine[1].extend(impostor)
        self.notes += [note for note in other.notes if note not in self.notes]


@dataclass(frozen=True)
class GroupRates:
    name: str
    row: Row


@dataclass(frozen=True)
class CalibrationReport:
    collection: Collection | None  # None: every collection together
    scores: Scores
    calibration: Calibration
    in_use: float  # the match threshold in use
    review: float  # the review threshold in use
    groups: tuple[GroupRates, ...]
    warnings: tuple[str, ...]

    @property
    def title(self) -> str:
        return f"Collection {self.collection.name}" if self.collection else "All collections"


def calibration_report(*, collection: Collection | None = None, target_fmr: float | None = None) -> CalibrationReport:
    """The error rates of every threshold from 50 to 99 on the labelled pairs of ``collection`` (or of all)."""
    target = settings.FACESITE_CALIBRATION_TARGET_FMR if target_fmr is None else target_fmr
    engine = get_engine()
    scores = Scores()
    for each in [collection] if collection else Collection.objects.all():
        scores.add(collection_scores(each, engine=engine))
    in_use = collection.identify_threshold if collection else settings.FACESITE_MATCH_THRESHOLD
    review = collection.review_threshold if collection else settings.FACESITE_REVIEW_THRESHOLD
    genuine, impostor = scores.all_genuine(), scores.all_impostor()
    result = calibrate(genuine, impostor, target_fmr=target, marks=(in_use, review))
    at = result.suggested.threshold if result.suggested else in_use
    groups = tuple(
        GroupRates(name, error_rates(np.array(g), np.array(i), at)) for name, (g, i) in sorted(scores.groups.items())
    )
    warnings = _warnings(result, scores, groups, in_use=in_use)
    return CalibrationReport(collection, scores, result, in_use, review, groups, tuple(warnings))


def calibration_picture(report: CalibrationReport) -> str:
    """The report's score histograms and DET curve, as SVG."""
    scores = report.scores
    return calibration_svg(report.calibration, scores.all_genuine(), scores.all_impostor(), title=report.title)


def collection_scores(collection: Collection, *, engine: BaseEngine) -> Scores:
    scores = Scores()
    _review_scores(scores, collection, engine)
    _enrolled_scores(scores, collection, engine)
    _folder_scores(scores, collection, engine)
    return scores


def collection_threshold_set(
    *, collection: Collection, threshold: float | None, actor: Actor, client_ip: str | None = None
) -> Collection:  # fmt: skip
    """Identify faces in ``collection``'s images from ``threshold`` on (None: the setting's again). Applies to
    analyses from now on; faces already identified keep their result. Audited with the error rates the
    calibration shows at the new threshold."""
    require_permission(actor, CALIBRATE, to="set match thresholds")
    if threshold is not None and not 0 <= threshold <= 100:
        raise InvalidInput("A threshold is a similarity from 0 to 100.", code="invalid_threshold")
    scores = collection_scores(collection, engine=get_engine())
    effective = settings.FACESITE_MATCH_THRESHOLD if threshold is None else threshold
    rates = error_rates(scores.all_genuine(), scores.all_impostor(), effective)
    with transaction.atomic():
        before = collection.match_threshold
        collection.match_threshold = threshold
        collection.save(update_fields=["match_threshold"])
        audit_record(
            actor=actor, action=AuditEvent.Action.COLLECTION_THRESHOLD, target=collection, client_ip=client_ip,
            before=before, after=threshold, effective=collection.identify_threshold,
            fmr=rates.fmr.value, fnmr=rates.fnmr.value, impostor_pairs=rates.fmr.trials,
            genuine_pairs=rates.fnmr.trials,
        )  # fmt: skip
    return collection


def similarities(engine: BaseEngine, a: np.ndarray, b: np.ndarray) -> list[float]:
    """The engine's similarity (0–100) of each row of ``a`` with the same row of ``b`` (unit vectors)."""
    assert isinstance(engine, EmbeddingEngine)
    cosines = np.einsum("ij,ij->i", a, b)
    return [engine.similarity_from_cosine(float(c)) for c in cosines]


def pair_indexes(labels: list[str], *, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of rows with the same label (all of them), and with different labels (all, or
    ``MAX_IMPOSTOR_PAIRS`` drawn at random when there are more)."""
    n = len(labels)
    codes = np.unique(np.array(labels), return_inverse=True)[1]
    first, second = np.triu_indices(n, k=1)
    same = codes[first] == codes[second]
    genuine = np.stack([first[same], second[same]], axis=1)
    impostor = np.stack([first[~same], second[~same]], axis=1)
    if len(impostor) > MAX_IMPOSTOR_PAIRS:
        impostor = impostor[rng.choice(len(impostor), MAX_IMPOSTOR_PAIRS, replace=False)]
    return genuine, impostor


def _review_scores(scores: Scores, collection: Collection, engine: BaseEngine) -> None:
    decided = (
        Face.objects.sightings()
        .made_by(engine=engine.name, model_version=engine.model_version)
        .filter(image__collection=collection, candidate__isnull=False, similarity__isnull=False)
        .filter(review_state__in=[Face.Review.CONFIRMED, Face.Review.REJECTED])
        .values_list("review_state", "person_id", "candidate_id", "similarity")
    )
    for state, person, candidate, similarity in decided:
        genuine = state == Face.Review.CONFIRMED and person == candidate
        (scores.genuine if genuine else scores.impostor)["review"].append(similarity)


def _enrolled_scores(scores: Scores, collection: Collection, engine: BaseEngine) -> None:
    if not isinstance(engine, EmbeddingEngine):
        scores.notes.append(
            f"The {engine.name} engine keeps no embeddings here, so enrolled people give no pairs: "
            "only review decisions and scored folders count."
        )
        return
    references = (
        Face.objects.references()
        .made_by(engine=engine.name, model_version=engine.model_version)
        .filter(collection=collection, person__isnull=False, embedding__isnull=False)
        .values_list("person_id", "embedding")
    )
    people, vectors = [], []
    for person, embedding in references:
        people.append(str(person))
        vectors.append(np.frombuffer(bytes(embedding), dtype="<f4"))
    if len(vectors) < 2:
        return
    matrix = np.vstack(vectors).astype(np.float64)
    genuine, impostor = pair_indexes(people, rng=np.random.default_rng(0))
    for kind, pairs in (("genuine", genuine), ("impostor", impostor)):
        if len(pairs):
            getattr(scores, kind)["enrolled"].extend(similarities(engine, matrix[pairs[:, 0]], matrix[pairs[:, 1]]))


def _folder_scores(scores: Scores, collection: Collection, engine: BaseEngine) -> None:
    pairs = CalibrationPair.objects.filter(
        collection=collection, engine=engine.name, model_version=engine.model_version
    ).values_list("genuine", "score", "group")
    for genuine, score, group in pairs:
        (scores.genuine if genuine else scores.impostor)["folder"].append(score)
        if group:
            scores.groups.setdefault(group, ([], []))[0 if genuine else 1].append(score)


def _warnings(result: Calibration, scores: Scores, groups: tuple[GroupRates, ...], *, in_use: float) -> list[str]:
    warnings = list(scores.notes)
    if not result.genuine or not result.impostor:
        warnings.append(
            f"Not enough to calibrate: {result.genuine} genuine and {result.impostor} impostor pairs. Enrol "
            "several photos of several people, decide faces in the review queue, or score a labelled folder "
            "(manage.py calibrate --add-folder)."
        )
        return warnings
    target = f"{result.target_fmr:.3%}"
    if not result.enough_impostors:
        warnings.append(
            f"Only {result.impostor} impostor pairs: with no false match among them, the false-match rate is "
            f"known only to be below {3 / result.impostor:.2%} (rule of three). A target of {target} needs "
            f"at least {result.impostors_needed} impostor pairs."
        )
    if result.suggested is None:
        warnings.append(f"No threshold from 50 to 99 keeps the false-match rate at or below {target}.")
    current = next(row for row in result.marked if row.threshold == in_use)
    fmr = current.fmr.value or 0.0
    warnings.append(
        f"The threshold in use, {in_use:g}, gives a false-match rate of {fmr:.3%} "
        f"({current.fmr.low:.3%}–{current.fmr.high:.3%}) and a false-non-match rate of "
        f"{current.fnmr.value or 0.0:.2%} ({current.fnmr.low:.2%}–{current.fnmr.high:.2%})"
        + (f": above the target of {target}." if fmr > result.target_fmr else ".")
    )
    if scores.genuine["review"] or scores.impostor["review"]:
        warnings.append(
            "Review decisions only cover faces the review queue held (between the review and match thresholds, "
            "or flagged): they under-represent clear matches and clear strangers."
        )
    warnings += _group_warnings(groups, result, at=result.suggested.threshold if result.suggested else in_use)
    return warnings


def _group_warnings(groups: tuple[GroupRates, ...], result: Calibration, *, at: float) -> list[str]:
    """Groups whose rates at ``at`` differ from every other group's beyond both 95 % intervals."""
    warnings = []
    for kind, label in (("fmr", "false-match"), ("fnmr", "false-non-match")):
        measured = [(g.name, getattr(g.row, kind)) for g in groups if getattr(g.row, kind).trials]
        for name, rate in measured:
            others = [other for other_name, other in measured if other_name != name]
            if others and all(rate.low > other.high for other in others):
                warnings.append(
                    f"People labelled {name!r} have a higher {label} rate at {at:g} than every other group: "
                    f"{rate.value:.2%} ({rate.low:.2%}–{rate.high:.2%}, {rate.errors}/{rate.trials}). "
                    "Consider their own threshold or more reference photos."
                )
    return warnings
