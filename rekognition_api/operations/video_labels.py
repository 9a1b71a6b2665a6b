"""StartLabelDetection and GetLabelDetection, StartContentModeration and GetContentModeration: Rekognition
Video's label detection and content moderation in a stored video, on Facesite's own video analysis. Each
sampled frame (``FACESITE_VIDEO_SAMPLE_RATE``) is classified as a photo is by DetectLabels or
DetectModerationLabels; the video's faces are not followed. Results are each label at each frame, or with
``AggregateBy`` ``SEGMENTS`` each stretch of consecutive frames a label was found in once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rekognition_api.models import VideoJob
from rekognition_api.operations.common import Call, label_json, label_wanted, model_version, moderation_json
from rekognition_api.operations.videos import job_of, job_results, job_start, millis
from videos.labels import Found, segments, video_labels, video_moderation
from videos.models import Video
from videos.services import AnalysisOptions


def start_label_detection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Queue the labelling of a video in S3's sampled frames, at ``MinConfidence`` (50); ``Settings``'
    ``GeneralLabels`` filters apply to the results."""
    options = AnalysisOptions(features=("labels",), identify=False, min_confidence=params.get("MinConfidence", 50.0))
    general = params.get("Settings", {}).get("GeneralLabels", {})
    return job_start(call, params, VideoJob.Kind.LABEL_DETECTION, options, label_settings=general)


def get_label_detection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The job's status; once it succeeded, the labels found, a page at a time."""
    job, answer = job_of(call, params, VideoJob.Kind.LABEL_DETECTION)
    answer.update(LabelModelVersion=model_version(), GetRequestMetadata=_asked(params))
    if job.video.status != Video.Status.DONE:
        return answer
    found = [(at, label) for at, label in video_labels(job.video) if label_wanted(label, job.settings)]
    return {**answer, **job_results(call, job, "Labels", _detections(job.video, found, "Label", label_json, params),
                                    params)}  # fmt: skip


def start_content_moderation(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Queue the moderation of a video in S3's sampled frames, at ``MinConfidence`` (50)."""
    options = AnalysisOptions(
        features=("moderation",), identify=False, min_confidence=params.get("MinConfidence", 50.0)
    )
    return job_start(call, params, VideoJob.Kind.CONTENT_MODERATION, options)


def get_content_moderation(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The job's status; once it succeeded, the moderation labels found, a page at a time."""
    job, answer = job_of(call, params, VideoJob.Kind.CONTENT_MODERATION)
    answer.update(ModerationModelVersion=model_version(), GetRequestMetadata=_asked(params))
    if job.video.status != Video.Status.DONE:
        return answer
    found = video_moderation(job.video)
    items = _detections(job.video, found, "ModerationLabel", moderation_json, params)
    return {**answer, **job_results(call, job, "ModerationLabels", items, params)}


def _asked(params: dict[str, Any]) -> dict[str, str]:
    return {"SortBy": params.get("SortBy", "TIMESTAMP"), "AggregateBy": params.get("AggregateBy", "TIMESTAMPS")}


def _detections(
    video: Video, found: list[tuple[float, Found]], key: str, as_json: Callable[[Found], dict[str, Any]],
    params: dict[str, Any],
) -> list[dict[str, Any]]:  # fmt: skip
    """``found`` (by time) as Rekognition Video's detections, each ``{"Timestamp": …, key: …}``: one for each
    frame, or for ``SEGMENTS`` one for each stretch (with its start, end and length, and its most confident
    finding); by time, or by name for ``SortBy`` ``NAME``."""
    asked = _asked(params)
    items: list[dict[str, Any]]
    if asked["AggregateBy"] == "SEGMENTS":
        items = [
            {"Timestamp": millis(s.start), key: as_json(s.best), "StartTimestampMillis": millis(s.start),
             "EndTimestampMillis": millis(s.end), "DurationMillis": millis(s.end) - millis(s.start)}
            for s in segments(found, every=1.0 / video.sample_rate)
        ]  # fmt: skip
    else:
        items = [{"Timestamp": millis(at), key: as_json(label)} for at, label in found]
    if asked["SortBy"] == "NAME":
        items.sort(key=lambda item: (item[key]["Name"], item["Timestamp"]))
    return items
