"""Benchmark of the local engine at 640×480: per-stage median ms, throughput on 1 and 2 processes, worker RSS.

    .venv/bin/python bench/engine.py [--rounds N] [--int8 auto|on|off]

Every model runs with one thread, as in a Celery prefork worker. The photos are
the test fixtures, resized to 640×480 and re-encoded as JPEG. The whole analysis is
timed before the stages as well as after them, and the run says whether the machine's
speed held between the two.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
from arguments import positive_float, positive_int  # noqa: E402  (beside this script)
from photos import PHOTOS, fixture, jpeg_640x480  # noqa: E402  (beside this script)
from steadiness import steadiness  # noqa: E402  (beside this script)

from recognition.engines.imaging import decode_rgb  # noqa: E402
from recognition.engines.local import LocalEngine  # noqa: E402
from recognition.engines.local.faces import SFACE_TEMPLATE, _similarity  # noqa: E402
from recognition.engines.local.models import fast_int8_cpu  # noqa: E402

DEFAULT = ("faces", "labels", "moderation")
INT8_CHOICES = {"auto": None, "on": True, "off": False}


def images_640x480() -> list[bytes]:
    return [jpeg_640x480(fixture(name)) for name in PHOTOS]


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1000.0


def stages(engine: LocalEngine, images: list[bytes], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in
             ("decode", "face detection", "face embedding (per face)", "face attributes (per face)", "labels",
              "moderation", "text (not in default)", "whole default analysis")}  # fmt: skip
    for _ in range(rounds):
        for data in images:
            times["decode"].append(timed(decode_rgb, data))
            rgb = decode_rgb(data)
            bgr = cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)
            times["face detection"].append(timed(engine.faces._detect_raw, bgr))
            for row in engine.faces._detect_raw(bgr):
                points = row[4:14].reshape(5, 2)
                aligned = cv2.warpAffine(bgr, _similarity(points, SFACE_TEMPLATE), (112, 112))
                times["face embedding (per face)"].append(timed(engine.faces._embed, aligned))
                times["face attributes (per face)"].append(timed(engine.faces._attributes, bgr, points, row[:4]))
            times["labels"].append(timed(engine._labels, rgb, [], min_confidence=50, max_labels=50))
            times["moderation"].append(timed(engine._moderation, rgb, min_confidence=50))
            times["text (not in default)"].append(timed(engine._text, bgr))
    # The whole analysis in its own pass, back to back as a worker runs them: timed right after OCR's
    # quarter-second run in each round, it found the caches cold and took 1.4-2.1 ms more.
    times["whole default analysis"] = whole_analyses(engine, images, rounds)
    return times


def whole_analyses(engine: LocalEngine, images: list[bytes], rounds: int) -> list[float]:
    return [timed(engine.analyse, data, features=DEFAULT) for _ in range(rounds) for data in images]


def drift(before: list[float], after: list[float]) -> str:
    """The whole analysis before and after the stages, and whether the machine's speed held between them."""
    first, last = statistics.median(before), statistics.median(after)
    verdict = steadiness(first, last, consequence="the figures are uncertain")
    return f"whole default analysis before and after the stages: {first:.1f} and {last:.1f} ms ({verdict})"


def _worker(args) -> tuple[int, float]:
    images, seconds, int8 = args
    engine = LocalEngine(preload=True, int8=int8)
    for data in images:  # warm up
        engine.analyse(data, features=DEFAULT)
    done, deadline = 0, time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        engine.analyse(images[done % len(images)], features=DEFAULT)
        done += 1
    return done, time.perf_counter() - start


def throughput(images: list[bytes], processes: int, seconds: float, int8: bool | None) -> float:
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.map(_worker, [(images, seconds, int8)] * processes)
    return sum(done / elapsed for done, elapsed in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=positive_int, default=5)
    parser.add_argument("--seconds", type=positive_float, default=10.0, help="per throughput run")
    parser.add_argument("--int8", choices=INT8_CHOICES, default="auto", help="int8 moderation (auto: as the engine)")
    args = parser.parse_args()
    int8 = INT8_CHOICES[args.int8]
    images = images_640x480()

    process = psutil.Process()
    rss_before = process.memory_info().rss
    start = time.perf_counter()
    engine = LocalEngine(preload=True, int8=int8)
    load_s = time.perf_counter() - start
    for data in images:
        engine.analyse(data, features=(*DEFAULT, "text"))
    rss = process.memory_info().rss

    print(f"Local engine benchmark: {len(images)} photos at 640×480, {args.rounds} rounds, 1 thread per model")
    print(f"CPU: {os.cpu_count()} cores, int8 dot products: {'yes' if fast_int8_cpu() else 'no'}; "
          f"moderation {'int8' if engine.models.int8 else 'float'}; model load {load_s:.2f} s")  # fmt: skip
    first = whole_analyses(engine, images, args.rounds)
    times = stages(engine, images, args.rounds)
    print(f"\n{'stage':32} {'median ms':>10} {'p95 ms':>8} {'n':>5}")
    for stage, values in times.items():
        values = sorted(values)
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        print(f"{stage:32} {statistics.median(values):10.1f} {p95:8.1f} {len(values):5d}")
    print(drift(first, times["whole default analysis"]))
    print(f"\nworker RSS, all models loaded and warm: {rss / 2**20:.0f} MiB (before: {rss_before / 2**20:.0f} MiB)")
    for processes in (1, 2):
        rate = throughput(images, processes, args.seconds, int8)
        print(f"whole default analysis, {processes} process(es): {rate:.1f} images/s")


if __name__ == "__main__":
    main()
