"""Video analysis speed: frames analysed per second and the real-time factor (seconds of video per second of
work) for 720p video at the default sampling rate, on 1 and 2 worker processes.

    .venv/bin/python bench/video.py [--seconds 60] [--sample-rate 2] [--chunk 10] [--features faces,labels]

The video is made here with PyAV (H.264, 1280×720, 25 frames/s): the test photos in turn, a few seconds
each, with empty stretches between, and grain in every frame (``--noise``) so that, as with camera footage,
every frame carries new data to decode: H.264 must decode every frame, sampled or not. Each process takes
chunks as a worker does (decode from the keyframe before the chunk, sample, analyse each sampled frame in one
engine call for what ``--features`` asks, as a video's features do, and track the faces with their embeddings);
identification and the database are left out: one search per track costs milliseconds (bench/search.py).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arguments import positive_float  # noqa: E402  (beside this script)

PEOPLE = ["obama.jpg", "biden.jpg", None, "astronaut.png", "obama2.jpg", None]
#: Added to the people when text is read: a street sign, for the recogniser to have lines to read.
SIGNS = ["scenetext01.jpg", None]
_engine = None


def make_video(
    path: Path, seconds: float, noise: float, keyframe_every: int | None = None, *, signs: bool = False
) -> None:
    from tests.clips import video

    scenes: list[tuple[str | None, float]] = []
    while sum(s for _, s in scenes) < seconds:
        scenes += [(name, 4.0) for name in PEOPLE + (SIGNS if signs else [])]
    trimmed, total = [], 0.0
    for name, length in scenes:
        if total >= seconds:
            break
        trimmed.append((name, min(length, seconds - total)))
        total += trimmed[-1][1]
    path.write_bytes(video(trimmed, fps=25, size=(1280, 720), noise=noise, keyframe_every=keyframe_every))


def _init() -> None:
    global _engine
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from recognition.engines.local import LocalEngine

    _engine = LocalEngine()
    _engine.models.load_all()


def analyse_chunk(job: tuple[str, float, float, float, bool, tuple[str, ...]]) -> tuple[int, int]:
    import io

    from PIL import Image

    from videos.media import frames
    from videos.tracking import Tracker

    path, start, end, every, keyframes_only, features = job
    tracker = Tracker.sampling(every)
    count = 0
    with open(path, "rb") as source:
        for frame in frames(source, start=start, end=end, every=every, keyframes_only=keyframes_only,
                            max_pixels=8192 * 4320):  # FACESITE_VIDEO_MAX_PIXELS' default  # fmt: skip
            out = io.BytesIO()
            Image.fromarray(frame.rgb).save(out, "JPEG", quality=92)
            analysis = _engine.analyse(out.getvalue(), features=features, min_label_confidence=50.0,
                                       min_moderation_confidence=50.0, face_attributes=False)  # fmt: skip
            tracker.add(frame.at, analysis.faces)
            count += 1
    return count, len(tracker.tracks)


def run(
    path: Path, *, seconds: float, every: float, chunk: float, processes: int, keyframes_only: bool,
    features: tuple[str, ...],
) -> tuple[float, int, int]:  # fmt: skip
    jobs = [(str(path), t, min(t + chunk, seconds), every, keyframes_only, features)
            for t in frange(0.0, seconds, chunk)]  # fmt: skip
    with multiprocessing.get_context("spawn").Pool(processes, initializer=_init) as pool:
        pool.map(analyse_chunk, jobs[:processes])  # warm-up: models loaded in every process
        started = time.perf_counter()
        results = pool.map(analyse_chunk, jobs, chunksize=1)
        elapsed = time.perf_counter() - started
    return elapsed, sum(r[0] for r in results), sum(r[1] for r in results)


def frange(start: float, stop: float, step: float) -> list[float]:
    out, t = [], start
    while t < stop - 1e-9:
        out.append(round(t, 6))
        t += step
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=positive_float, default=60.0)
    parser.add_argument("--sample-rate", type=positive_float, default=2.0)
    parser.add_argument(
        "--chunk", type=positive_float, default=10.0, help="seconds per chunk (the setting's default is 60)"
    )
    parser.add_argument("--keyframes-only", action="store_true",
                        help="a keyframe every 12 frames (0.48 s), and decode only those")  # fmt: skip
    parser.add_argument("--noise", type=float, default=6.0,
                        help="grain in every frame (0: still pictures, which decode almost for free)")  # fmt: skip
    parser.add_argument("--features", default="faces",
                        help="what sampled frames are analysed for: faces, labels, moderation, text (with text, "
                             "a street sign comes between the people)")  # fmt: skip
    args = parser.parse_args()
    features = tuple(part.strip() for part in args.features.split(",") if part.strip())
    if not features or set(features) - {"faces", "labels", "moderation", "text"}:
        parser.error("--features names one or more of faces, labels, moderation, text")
    every = 1.0 / args.sample_rate
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.mp4"
        started = time.perf_counter()
        make_video(path, args.seconds, args.noise, keyframe_every=12 if args.keyframes_only else None,
                   signs="text" in features)  # fmt: skip
        print(f"{args.seconds:g} s of 1280×720 H.264 at 25 frames/s ({path.stat().st_size / 1e6:.1f} MB, made in "
              f"{time.perf_counter() - started:.1f} s); sampled at {args.sample_rate:g} frames/s, chunks of "
              f"{args.chunk:g} s; frames analysed for {', '.join(features)}")  # fmt: skip
        for processes in (1, 2):
            elapsed, count, tracks = run(path, seconds=args.seconds, every=every, chunk=args.chunk, processes=processes,
                                         keyframes_only=args.keyframes_only, features=features)  # fmt: skip
            print(f"{processes} process(es): {count} frames in {elapsed:.1f} s = {count / elapsed:.1f} frames/s, "
                  f"real-time factor {args.seconds / elapsed:.1f}× ({tracks} tracks before merging)")  # fmt: skip


if __name__ == "__main__":
    main()
