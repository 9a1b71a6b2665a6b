"""``manage.py calibrate``: the false-match and false-non-match rates of every threshold, from labelled pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recognition.calibration.stats import Rate
from recognition.exceptions import InvalidInput
from recognition.management.progress import counted
from recognition.models import Collection
from recognition.services.calibration import SOURCES, CalibrationReport, calibration_picture, calibration_report
from recognition.services.calibration_folder import LabelledPhoto, calibration_folder_score, calibration_pairs_clear
from recognition.services.collections import collection_named


class Command(BaseCommand):
    help = (
        "For each similarity threshold from 50 to 99, the false-match and false-non-match rates on labelled "
        "pairs (review decisions, enrolled people, scored folders) with 95 % Wilson intervals, the equal-error "
        "point, and the threshold that keeps false matches at or below a target. Per collection and overall."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--collection", help="Only this collection (default: every one, then all together).")
        parser.add_argument("--target-fmr", type=float, help="False-match rate to keep to, e.g. 0.001 for 0.1 %%.")
        parser.add_argument("--svg", type=Path, help="Write the histograms and DET curve to this SVG file.")
        parser.add_argument(
            "--add-folder", type=Path, metavar="DIR",
            help="First score the photos of DIR (<person>/<photos> or <group>/<person>/<photos>) into the "
            "collection's pairs; scoring the same folder again replaces its pairs.",
        )  # fmt: skip
        parser.add_argument("--clear-folders", action="store_true", help="First remove every scored folder's pairs.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._handle(**options)
        except InvalidInput as exc:
            raise CommandError(exc.message) from exc

    def _handle(self, *, collection: str | None, target_fmr: float | None, svg: Path | None,
                add_folder: Path | None, clear_folders: bool, **options: Any) -> None:  # fmt: skip
        if target_fmr is not None and not 0 < target_fmr < 1:
            raise CommandError("--target-fmr is a rate between 0 and 1, e.g. 0.001 for 0.1 %.")
        chosen = collection_named(name=collection) if collection or add_folder or clear_folders else None
        if clear_folders:
            assert chosen is not None
            removed = calibration_pairs_clear(collection=chosen, actor=None)
            self.stdout.write(f"Removed {removed} scored pairs from {chosen.name}.")
        if add_folder:
            assert chosen is not None
            self._score(add_folder, chosen)
        reports = [calibration_report(collection=chosen, target_fmr=target_fmr)]
        if chosen is None:
            collections = list(Collection.objects.all())
            reports = [calibration_report(collection=c, target_fmr=target_fmr) for c in collections] + reports
        for report in reports:
            self._print(report)
        if svg:
            svg.write_text(calibration_picture(reports[-1]), encoding="utf-8")
            self.stdout.write(f"Wrote {svg} ({reports[-1].title}).")

    def _score(self, folder: Path, collection: Collection) -> None:
        self.stdout.write(f"Scoring the photos of {folder} into {collection.name}:")

        def progress(photo: LabelledPhoto, reason: str) -> None:
            self.stdout.write(f"  {photo.person}/{photo.path.name}: {reason or 'one face'}")

        scored = calibration_folder_score(folder=folder, collection=collection, actor=None, progress=progress)
        self.stdout.write(
            f"{counted(scored.photos, 'photo')} of {counted(scored.people, 'person', 'people')}: "
            f"{scored.genuine} genuine and {scored.impostor} impostor pairs stored; "
            f"{counted(len(scored.skipped), 'photo')} skipped."
        )
        if scored.left_out:
            self.stdout.write(f"{len(scored.left_out)} files of the folder were not read:")
            for name, reason in scored.left_out:
                self.stdout.write(f"  {name}: {reason}")

    def _print(self, report: CalibrationReport) -> None:
        c = report.calibration
        out = self.stdout.write
        out("")
        out(self.style.MIGRATE_HEADING(f"{report.title}: {c.genuine} genuine and {c.impostor} impostor pairs"))
        out(
            "  by source: "
            + "; ".join(
                f"{s} {len(report.scores.genuine[s])} genuine / {len(report.scores.impostor[s])} impostor"
                for s in SOURCES
            )
        )
        if c.genuine and c.impostor:
            out(f"  {'threshold':>9}  {'false-match rate (95 % CI, errors/pairs)':<44}  false-non-match rate")
            for row in c.rows:
                marks = " ".join(
                    name for name, at in (("in use", report.in_use), ("review", report.review)) if row.threshold == at
                )
                suggested = "suggested" if c.suggested and row.threshold == c.suggested.threshold else ""
                out(f"  {row.threshold:>9g}  {_rate(row.fmr, 3):<44}  {_rate(row.fnmr, 2):<36} {marks} {suggested}")
            out(f"  Equal error: {c.equal_error_rate:.2%} at {c.equal_error_threshold:g}.")
            if c.suggested:
                out(
                    f"  Suggested for a false-match rate at or below {c.target_fmr:.3%}: {c.suggested.threshold:g}, "
                    f"costing a false-non-match rate of {_rate(c.suggested.fnmr, 2)}."
                )
        for group in report.groups:
            out(f"  group {group.name!r} at {group.row.threshold:g}: FMR {_rate(group.row.fmr, 3)}; "
                f"FNMR {_rate(group.row.fnmr, 2)}")  # fmt: skip
        for warning in report.warnings:
            out(self.style.WARNING(f"  ! {warning}"))


def _rate(rate: Rate, digits: int) -> str:
    if not rate.trials:
        return "–"
    value = rate.errors / rate.trials
    return f"{value:.{digits}%} ({rate.low:.{digits}%}–{rate.high:.{digits}%}, {rate.errors}/{rate.trials})"
