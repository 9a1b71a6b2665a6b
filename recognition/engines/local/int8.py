"""An int8 copy of the moderation classifier (open_nsfw), built on this machine from its float weights.

Static quantisation (onnxruntime's QDQ format: int8 weights per output channel, uint8 activations) makes
open_nsfw about three times faster on a CPU with int8 dot-product instructions (x86 VNNI, Arm's dot
product), while its score moves by at most a fifth of a point on photos it was not calibrated on
(``bench/int8.py`` measures both). A CPU without them (AVX2 alone) gains nothing, and its 16-bit
intermediate sums can saturate (onnxruntime's quantisation guide says so), which moved the score by up to
0.7 points in the same comparison; ``models.fast_int8_cpu`` tells the two apart, and the engine uses the
int8 model only where it pays.

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
import tempfile
from pathlib import Path

import onnx
import onnxruntime
from onnx import version_converter
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

from recognition.engines.local.model_cache import kept

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


def _no_preprocessing_advice(record: logging.LogRecord) -> bool:
    """onnxruntime advises its shape-inference pre-processing on every build; the ranges were measured on
    the model as it is, so it is quantised as it is."""
    return not record.getMessage().startswith("Please consider")
