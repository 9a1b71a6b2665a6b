"""StartTextDetection and GetTextDetection: Rekognition Video's text detection in a stored video, on Facesite's
own video analysis. Each sampled frame (``FACESITE_VIDEO_SAMPLE_RATE``) is read as a photo is by DetectText:
its lines, and the words each line holds, numbered within the frame. ``Filters`` apply as DetectText's do; they
are kept with the job and applied as its results are read, so the video keeps everything it found."""

from __future__ import annotations

from typing import Any

from rekognition_api.models import VideoJob
from rekognition_api.operations.common import Call, model_version, text_json, text_wanted
from rekognition_api.operations.pages import page_of_rows
from rekognition_api.operations.videos import RESULTS_PAGE, job_of, job_page, job_start, millis, results_salt
from videos.labels import text_of
from videos.models import Video, VideoLabel
from videos.services import AnalysisOptions


def start_text_detection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Queue the reading of the text in a video in S3's sampled frames; ``Filters`` apply to the results."""
    options = AnalysisOptions(features=("text",), identify=False, min_confidence=0.0)  # Filters apply at Get
    return job_start(call, params, VideoJob.Kind.TEXT_DETECTION, options, get_filters=params.get("Filters", {}))


def get_text_detection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The job's status; once it succeeded, each line and word at each frame it was read in, by time (within a
    frame, as DetectText lists them), a page at a time."""
    job, answer = job_of(call, params, VideoJob.Kind.TEXT_DETECTION)
    answer["TextModelVersion"] = model_version()
    if job.video.status != Video.Status.DONE:
        return answer
    filters = job.settings
    rows = job.video.labels.filter(kind=VideoLabel.Kind.TEXT)
    found, more = page_of_rows(rows, ("at", "pk"), params, default=RESULTS_PAGE, salt=results_salt(job),
                               wanted=lambda row: text_wanted(text_of(row), filters))  # fmt: skip
    items = [{"Timestamp": millis(row.at), "TextDetection": text_json(text_of(row))} for row in found]
    return {**answer, **job_page(call, job, "TextDetections", items, more)}
