"""DetectLabels, DetectFaces, DetectText, DetectModerationLabels and CompareFaces: answered at once,
nothing stored but the audit row."""

from __future__ import annotations

from typing import Any

from recognition.services.access import SEARCH
from recognition.services.detection import image_detect
from recognition.services.matching import faces_compare
from rekognition_api.operations.common import (
    Call,
    attributes_asked,
    box,
    face_detail,
    image,
    label_json,
    label_wanted,
    model_version,
    moderation_json,
    text_json,
    text_wanted,
)

ANALYSE = "recognition.add_image"


def detect_labels(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require(ANALYSE, to="analyse images")
    features = params.get("Features") or ["GENERAL_LABELS"]
    wanted = (["labels"] if "GENERAL_LABELS" in features else []) + (
        ["properties"] if "IMAGE_PROPERTIES" in features else []
    )
    analysis = image_detect(
        data=image(params["Image"]),
        features=wanted,
        min_label_confidence=params.get("MinConfidence", 55.0),
        actor=call.user,
        client_ip=call.client_ip,
    )
    settings = params.get("Settings", {}).get("GeneralLabels", {})
    labels = [label for label in analysis.labels if label_wanted(label, settings)]
    answer: dict[str, Any] = {"LabelModelVersion": model_version()}
    if "labels" in wanted:
        answer["Labels"] = [label_json(label) for label in labels[: params.get("MaxLabels", 1000)]]
    if analysis.properties is not None:
        colours = params.get("Settings", {}).get("ImageProperties", {}).get("MaxDominantColors", 10)
        properties = analysis.properties.as_dict()
        properties["DominantColors"] = properties["DominantColors"][:colours]
        answer["ImageProperties"] = properties
    return answer


def detect_faces(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require(ANALYSE, to="analyse images")
    analysis = image_detect(data=image(params["Image"]), features=["faces"], actor=call.user,
                            client_ip=call.client_ip)  # fmt: skip
    asked = attributes_asked(params.get("Attributes"))
    return {"FaceDetails": [face_detail(face, attributes=asked) for face in analysis.faces]}


def detect_text(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require(ANALYSE, to="analyse images")
    analysis = image_detect(data=image(params["Image"]), features=["text"], actor=call.user,
                            client_ip=call.client_ip)  # fmt: skip
    filters = params.get("Filters", {})
    kept = [text for text in analysis.text if text_wanted(text, filters)]
    return {"TextDetections": [text_json(text) for text in kept], "TextModelVersion": model_version()}


def detect_moderation_labels(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require(ANALYSE, to="analyse images")
    analysis = image_detect(
        data=image(params["Image"]),
        features=["moderation"],
        min_moderation_confidence=params.get("MinConfidence", 50.0),
        actor=call.user,
        client_ip=call.client_ip,
    )
    return {
        "ModerationLabels": [moderation_json(m) for m in analysis.moderation],
        "ModerationModelVersion": model_version(),
    }


def compare_faces(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require(SEARCH, to="compare faces")
    threshold = params.get("SimilarityThreshold", 80.0)
    result = faces_compare(
        source=image(params["SourceImage"]),
        target=image(params["TargetImage"]),
        threshold=threshold,
        actor=call.user,
        client_ip=call.client_ip,
        quality_filter=params.get("QualityFilter", "NONE"),
    )

    def compared(face: Any) -> dict[str, Any]:
        return {"BoundingBox": box(face.bounding_box), "Confidence": face.confidence}

    return {
        "SourceImageFace": compared(result.source_face),
        "FaceMatches": [{"Similarity": f.similarity, "Face": compared(f)} for f in result.faces if f.match],
        "UnmatchedFaces": [compared(f) for f in result.faces if not f.match],
    }
