"""An int8 copy of the moderation classifier (open_nsfw), built on this machine from its float weights.

Static quantisation (onnxruntime's QDQ format: int8 weights per output channel, uint8 activations) makes
open_nsfw about three times faster on a CPU with int8 dot-product instructions (x86 VNNI, Arm's dot
product), while its score moves by at most a fifth of a point on photos it was not calibrated on
(``bench/int8.py`` measures both). On a CPU with AVX2 alone it depends on the CPU: no faster on an AMD Zen 2
(29.0 ms in both), 42 % faster on a Zen 3 (13.9 against 24.0 ms); there its 16-bit intermediate sums can
saturate (onnxruntime's quantisation guide says so), which moved the score by up to 0.7 points in the same
comparison. So the engine uses the int8 model where the CPU has int8 dot products
(``models.fast_int8_cpu``), and elsewhere only where ``median_ms`` finds it takes at most ``WORTH`` of the
float model's time.

Quantisation needs the range of every activation; those were measured once on the test fixtures by
``bench/int8.py --measure`` and are kept beside this module (``data/int8/moderation.json``, onnxruntime's
calibration-cache format), so every machine builds the same int8 model from the same float weights and
no photo ships with the project.

The label classifier (EfficientNet-Lite0) stays float: quantised the same way, its top ImageNet class
changed on a quarter of the held-out photos, which would change the labels operators see.

Building takes about a second; the result is kept in ``cache_dir`` (model_cache.py) under a name that
changes with the float weights, the ranges and onnxruntime's version.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import version_converter
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

from recognition.engines.local.model_cache import kept

#: Without int8 dot products, the int8 model runs only if it takes at most this share of the float model's time.
WORTH = 0.8
RANGES_DIR = Path(__file__).resolve().parent / "data" / "int8"  # not models.DATA_DIR: models imports this
# Per-channel QDQ needs DequantizeLinear's axis attribute, which arrived in opset 13.
MIN_OPSET = 13


def ranges_path(name: str) -> Path:
    return RANGES_DIR / f"{name}.json"


def with_opset(model: onnx.ModelProto) -> onnx.ModelProto:
    opset = next((entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")), MIN_OPSET)
    return version_converter.convert_version(model, MIN_OPSET) if opset < MIN_OPSET else model


def quantized(model: onnx.ModelProto, name: str, *, cache_dir: Path | None) -> bytes:
    """The int8 model of ``name`` (its ranges in ``data/int8/<name>.json``), from the cache or built now."""
    ranges = ranges_path(name)
    source = with_opset(model)
    return kept(
        cache_dir,
        f"{name}-int8",
        source.SerializeToString() + ranges.read_bytes() + onnxruntime.__version__.encode(),
        lambda: build(source, ranges),
    )


def build(model: onnx.ModelProto, ranges: Path, reader: CalibrationDataReader | None = None) -> bytes:
    """Quantise ``model`` with the ranges in ``ranges``; with a ``reader`` of photos, measure them first
    and write them there."""
    root = logging.getLogger()
    root.addFilter(_no_preprocessing_advice)
    with tempfile.TemporaryDirectory(prefix="facesite-int8-") as tmp:
        output = Path(tmp) / "model.onnx"
        try:
            quantize_static(
                # A copy: quantize_static rewrites the model it is given (its weights become external data).
                onnx.ModelProto.FromString(with_opset(model).SerializeToString()),
                output,
                calibration_data_reader=reader,
                calibration_cache_path=ranges,
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
            )
        finally:
            root.removeFilter(_no_preprocessing_advice)
        return output.read_bytes()


def median_ms(sessions: list[onnxruntime.InferenceSession], rounds: int = 5) -> list[float]:
    """Each session's median time, in ms, on the same made-up input for their (shared) first input; the runs
    interleaved after a warm-up run each, so that a busy moment slows them alike."""
    spec = sessions[0].get_inputs()[0]
    shape = [dim if isinstance(dim, int) else 1 for dim in spec.shape]
    feed = {spec.name: np.random.default_rng(0).uniform(-128, 128, shape).astype(np.float32)}
    times: list[list[float]] = [[] for _ in sessions]
    for round_ in range(rounds + 1):
        for session, measured in zip(sessions, times, strict=True):
            started = time.perf_counter()
            session.run(None, feed)
            if round_:
                measured.append((time.perf_counter() - started) * 1000)
    return [statistics.median(measured) for measured in times]


def _no_preprocessing_advice(record: logging.LogRecord) -> bool:
    """onnxruntime advises its shape-inference pre-processing on every build (the ranges were measured on
    the model as it is, so it is quantised as it is), and tells of every bias scale it widens."""
    return not record.getMessage().startswith(("Please consider", "Increased scale"))
