"""Faces on the local engine: YuNet detection, alignment, SFace identity, attributes.

Boxes and landmarks are found on a downscaled copy when the image is large,
then mapped back; crops for the identity, age, gender and emotion networks are
always cut from the full-resolution image.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from recognition.engines.base import BoundingBox, FaceDetail, Landmark
from recognition.engines.local.models import ModelSet

# The 112×112 template SFace (like ArcFace) was trained on: eyes, nose tip, mouth corners.
SFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)
# dlib's 5-point template (get_face_chip_details); we align on its eye centres,
# the midpoints of its eye corners, since YuNet gives eye centres.
_DLIB_TEMPLATE = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
    ]
)
DLIB_EYES = np.array([_DLIB_TEMPLATE[2:4].mean(axis=0), _DLIB_TEMPLATE[0:2].mean(axis=0)])  # viewer's left, right
DLIB_PADDING = 0.2

# YuNet's landmark order, named as Rekognition names them (left/right as the viewer sees them).
LANDMARK_TYPES = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")

EMOTIONS = ("ANGRY", "DISGUSTED", "FEAR", "HAPPY", "SAD", "SURPRISED", "CALM")

# Cosine similarity of SFace embeddings → Rekognition-style similarity (0–100).
# OpenCV's published SFace threshold (cosine 0.363, tuned on LFW) maps to 80,
# Rekognition's default, so "similarity ≥ 80" means what users expect; above it
# the scale is linear up to 100 at cosine 1, below it linear down to 0 at cosine 0.
COSINE_AT_80 = 0.363

# Faces per SFace run: enough to share the final layer's weights, few enough that a crowd does not grow the
# runtime's memory arena for good (about 1 MB of activations a face).
EMBEDDING_BATCH = 8


def similarity_from_cosine(cos: float) -> float:
    if cos >= COSINE_AT_80:
        value = 80.0 + 20.0 * (cos - COSINE_AT_80) / (1.0 - COSINE_AT_80)
    else:
        value = 80.0 * max(cos, 0.0) / COSINE_AT_80
    return round(min(max(value, 0.0), 100.0), 3)


def cosine_from_similarity(similarity: float) -> float:
    if similarity >= 80.0:
        return COSINE_AT_80 + (similarity - 80.0) / 20.0 * (1.0 - COSINE_AT_80)
    return similarity / 80.0 * COSINE_AT_80


class FaceAnalyser:
    def __init__(self, models: ModelSet, *, detect_max_side: int = 1024):
        self.models = models
        self.detect_max_side = detect_max_side

    def detect(self, bgr: np.ndarray, *, attributes: bool) -> list[FaceDetail]:
        height, width = bgr.shape[:2]
        found = [  # (score, pixel box, box, landmarks, aligned crop) of each face with an area
            (score, pixels, box, points, cv2.warpAffine(
                bgr, _similarity(points, SFACE_TEMPLATE), (112, 112), flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            ))
            for score, pixels, box, points in self._boxes(bgr)
        ]  # fmt: skip
        embeddings = self._embed_all([aligned for *_, aligned in found])
        faces = [
            FaceDetail(
                bounding_box=box,
                confidence=round(score * 100.0, 3),
                landmarks=tuple(
                    Landmark(kind, float(px) / width, float(py) / height)
                    for kind, (px, py) in zip(LANDMARK_TYPES, points, strict=True)
                ),
                pose=estimate_pose(points),
                quality=estimate_quality(aligned),
                attributes=self._attributes(bgr, points, pixels) if attributes else {},
                embedding=embedding,
            )
            for (score, pixels, box, points, aligned), embedding in zip(found, embeddings, strict=True)
        ]
        faces.sort(key=lambda f: f.bounding_box.area, reverse=True)
        return faces

    def locate(self, bgr: np.ndarray) -> list[FaceDetail]:
        """Where the faces are and how sure the detector is: boxes and confidences, largest first; no identity
        vector, landmarks or attributes (what labels of people need, at the detector's cost alone)."""
        faces = [
            FaceDetail(bounding_box=box, confidence=round(score * 100.0, 3)) for score, _, box, _ in self._boxes(bgr)
        ]
        faces.sort(key=lambda f: f.bounding_box.area, reverse=True)
        return faces

    def _boxes(
        self, bgr: np.ndarray
    ) -> Iterator[tuple[float, tuple[float, float, float, float], BoundingBox, np.ndarray]]:
        """Each face found with an area: its score (0–1), its box in pixels and as ratios, its five landmarks."""
        height, width = bgr.shape[:2]
        for row in self._detect_raw(bgr):
            x, y, w, h = (float(v) for v in row[:4])
            box = BoundingBox(left=x / width, top=y / height, width=w / width, height=h / height).clamped()
            if box.width > 0 and box.height > 0:
                yield float(row[14]), (x, y, w, h), box, row[4:14].reshape(5, 2).astype(np.float32)

    def _detect_raw(self, bgr: np.ndarray) -> np.ndarray:
        height, width = bgr.shape[:2]
        scale = min(1.0, self.detect_max_side / max(height, width))
        work = bgr
        if scale < 1.0:
            work = cv2.resize(
                bgr, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
            )
        found: np.ndarray = self.models.face_detector.detect(work)
        found[:, :14] /= scale
        return found

    def _embed(self, aligned_bgr: np.ndarray) -> np.ndarray:
        return self._embed_all([aligned_bgr])[0]

    def _embed_all(self, aligned_bgr: list[np.ndarray]) -> list[np.ndarray]:
        """Unit identity vectors of aligned 112×112 faces, run through SFace a batch at a time: a batch reads
        the final layer's 25 MB of weights once for all its faces, and gives each face what it would alone."""
        vectors: list[np.ndarray] = []
        for start in range(0, len(aligned_bgr), EMBEDDING_BATCH):
            # SFace takes raw BGR values 0..255.
            faces = np.stack(aligned_bgr[start : start + EMBEDDING_BATCH])
            batch = np.ascontiguousarray(faces.transpose(0, 3, 1, 2), dtype=np.float32)
            output = self.models.face_recogniser.run(None, {"data": batch})[0].astype(np.float32)
            vectors.extend(v / max(float(np.linalg.norm(v)), 1e-12) for v in output.reshape(len(batch), -1))
        return vectors

    def _attributes(
        self, bgr: np.ndarray, points: np.ndarray, box: tuple[float, float, float, float]
    ) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        attributes.update(self._age_gender(bgr, points))
        emotions = self._emotions(bgr, box)
        attributes["Emotions"] = emotions
        happy = next(e["Confidence"] for e in emotions if e["Type"] == "HAPPY")
        attributes["Smile"] = {"Value": happy >= 50.0, "Confidence": round(max(happy, 100.0 - happy), 3)}
        return attributes

    def _age_gender(self, bgr: np.ndarray, points: np.ndarray) -> dict[str, Any]:
        models = self.models.age_gender
        result: dict[str, Any] = {}
        chips = self.age_gender_inputs(bgr, points)
        gender = models["gender"]
        p = gender["session"].run(None, {gender["input"]: chips["gender"]})[0][0]
        index = int(np.argmax(p))
        result["Gender"] = {
            "Value": gender["labels"][index].capitalize(),
            "Confidence": round(float(p[index]) * 100, 3),
        }
        age = models["age"]
        probabilities = age["session"].run(None, {age["input"]: chips["age"]})[0][0]
        cumulative = np.cumsum(probabilities)
        low = float(age["weights"][int(np.searchsorted(cumulative, 0.15))])
        high = float(age["weights"][int(np.searchsorted(cumulative, 0.85))])
        result["AgeRange"] = {"Low": math.floor(low), "High": math.ceil(max(high, low + 1))}
        return result

    def age_gender_inputs(self, bgr: np.ndarray, points: np.ndarray) -> dict[str, np.ndarray]:
        """The input of dlib's age and gender networks: a chip of the face aligned on its eyes, per task."""
        models = self.models.age_gender
        chips = {}
        for task in ("gender", "age"):
            size = models[task]["size"]
            target = (DLIB_PADDING + DLIB_EYES) / (2 * DLIB_PADDING + 1) * size
            matrix = _similarity(points[:2], target.astype(np.float32))
            chip = cv2.warpAffine(bgr, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            chip = chip[:, :, ::-1]  # dlib's networks take RGB; only the chip is converted, not the whole image
            batch = ((chip.astype(np.float32) - models[task]["means"]) / np.float32(256.0)).transpose(2, 0, 1)[None]
            chips[task] = np.ascontiguousarray(batch)
        return chips

    def _emotions(self, bgr: np.ndarray, box: tuple[float, float, float, float]) -> list[dict[str, Any]]:
        # The FER model takes a square greyscale crop of the face box with a 10 px margin, 64×64, scaled to -1..1.
        x, y, w, h = box
        side = max(w, h)
        cx, cy = x + w / 2, y + h / 2
        x1, y1 = round(cx - side / 2 - 10), round(cy - side / 2 - 10)
        x2, y2 = round(cx + side / 2 + 10), round(cy + side / 2 + 10)
        crop = _crop_with_border(bgr, x1, y1, x2, y2, border=40)
        if crop.size == 0:
            return [{"Type": kind, "Confidence": 0.0} for kind in EMOTIONS]
        face = cv2.resize(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), (64, 64)).astype(np.float32)
        face = ((face / 255.0) - 0.5) * 2.0
        interpreter = self.models.emotion_interpreter()
        inp = interpreter.get_input_details()[0]
        out = interpreter.get_output_details()[0]
        interpreter.set_tensor(inp["index"], face[None, :, :, None].astype(inp["dtype"]))
        interpreter.invoke()
        scores = interpreter.get_tensor(out["index"])[0].astype(np.float64)
        scores = scores / max(scores.sum(), 1e-9)
        ranked = sorted(zip(EMOTIONS, scores, strict=True), key=lambda item: -item[1])
        return [{"Type": kind, "Confidence": round(float(score) * 100, 3)} for kind, score in ranked]


def estimate_pose(points: np.ndarray) -> dict[str, float]:
    """Roll, yaw and pitch in degrees, estimated geometrically from the five landmarks."""
    left_eye, right_eye, nose, mouth_left, mouth_right = (np.asarray(p, dtype=np.float64) for p in points)
    roll = math.degrees(math.atan2(right_eye[1] - left_eye[1], right_eye[0] - left_eye[0]))
    eye_mid = (left_eye + right_eye) / 2
    mouth_mid = (mouth_left + mouth_right) / 2
    eye_span = max(float(np.linalg.norm(right_eye - left_eye)), 1e-6)
    # Nose offset along the eye line, as a share of the eye span: 0 when facing the camera.
    direction = (right_eye - left_eye) / eye_span
    offset = float(np.dot(nose - eye_mid, direction)) / eye_span
    yaw = max(-90.0, min(90.0, offset * 180.0))
    face_height = max(float(np.linalg.norm(mouth_mid - eye_mid)), 1e-6)
    vertical = float(np.dot(nose - eye_mid, np.array([-direction[1], direction[0]]))) / face_height
    pitch = max(-90.0, min(90.0, (0.55 - vertical) * 180.0))
    return {"Roll": round(roll, 2), "Yaw": round(yaw, 2), "Pitch": round(pitch, 2)}


def estimate_quality(aligned_bgr: np.ndarray) -> dict[str, float]:
    """Brightness (mean luminance) and sharpness (Laplacian variance), each mapped to 0–100."""
    grey = cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2GRAY)
    brightness = float(grey.mean()) / 255.0 * 100.0
    variance = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    sharpness = 100.0 * (1.0 - math.exp(-variance / 300.0))
    return {"Brightness": round(brightness, 3), "Sharpness": round(sharpness, 3)}


def _crop_with_border(image: np.ndarray, x1: int, y1: int, x2: int, y2: int, *, border: int) -> np.ndarray:
    """``image[y1:y2, x1:x2]`` as if the image had a black frame ``border`` pixels wide around it (and
    nothing beyond that), without copying the whole image into a larger one."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = max(x1, -border), max(y1, -border), min(x2, width + border), min(y2, height + border)
    if x2 <= x1 or y2 <= y1:
        return image[:0, :0]
    inside = image[max(y1, 0) : max(min(y2, height), 0), max(x1, 0) : max(min(x2, width), 0)]
    if inside.size == 0:
        return np.zeros((y2 - y1, x2 - x1, *image.shape[2:]), dtype=image.dtype)
    return cv2.copyMakeBorder(
        inside, max(-y1, 0), max(y2 - height, 0), max(-x1, 0), max(x2 - width, 0), cv2.BORDER_CONSTANT, value=0
    )


def _similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The similarity transform (rotation, uniform scale, shift) taking source points onto target points."""
    if len(source) == 2:
        # Two points fix a similarity transform exactly.
        (sx1, sy1), (sx2, sy2) = source.astype(np.float64)
        (tx1, ty1), (tx2, ty2) = target.astype(np.float64)
        s = complex(sx2 - sx1, sy2 - sy1)
        t = complex(tx2 - tx1, ty2 - ty1)
        z = t / s if abs(s) > 1e-9 else complex(1, 0)
        a, b = z.real, z.imag
        shift = complex(tx1, ty1) - z * complex(sx1, sy1)
        return np.array([[a, -b, shift.real], [b, a, shift.imag]], dtype=np.float64)
    matrix, _ = cv2.estimateAffinePartial2D(source, target, method=cv2.LMEDS)
    if matrix is None:
        matrix, _ = cv2.estimateAffinePartial2D(source, target)
    return matrix
