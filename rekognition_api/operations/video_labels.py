"""StartLabelDetection and GetLabelDetection, StartContentModeration and GetContentModeration: Rekognition
Video's label detection and content moderation in a stored video, on Facesite's own video analysis. Each
sampled frame (``FACESITE_VIDEO_SAMPLE_RATE``) is classified as a photo is by DetectLabels or
DetectModerationLabels; the video's faces are not followed. Results are each label at each frame, or with
``AggregateBy`` ``SEGMENTS`` each stretch of frames a label was found in once (``videos.labels.stretches``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Q, QuerySet

from recognition.engines.base import Label
from rekognition_api.models import VideoJob
from rekognition_api.operations.common import Call, label_json, label_wanted, model_version, moderation_json
from rekognition_api.operations.pages import page_of_rows
from rekognition_api.operations.videos import RESULTS_PAGE, job_of, job_page, job_start, millis, results_salt
from videos.labels import label_of, moderation_of
from videos.models import Video, VideoLabel, VideoLabelSegment
from videos.services import AnalysisOptions

#: What a Get answers a kind of finding as.
GET_RESULTS = {VideoLabel.Kind.LABEL: "Labels", VideoLabel.Kind.MODERATION: "ModerationLabels"}


def start_label_detection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Queue the labelling of a video in S3's sampled frames, at ``MinConfidence`` (50); ``Settings``'
    ``GeneralLabels`` filters apply to the results."""
    options = AnalysisOptions(features=("labels",), identify=False, min_confidence=params.get("MinConfidence", 50.0))
    general = params.get("Settings", {}).get("GeneralLabels", {})
    return job_start(call, params, VideoJob.Kind.LABEL_DETECTION, options, get_filters=general)


def get_label_detection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The job's status; once it succeeded, the labels found, a page at a time."""
    job, answer = job_of(call, params, VideoJob.Kind.LABEL_DETECTION)
    answer.update(LabelModelVersion=model_version(), GetRequestMetadata=_asked(params))
    if job.video.status != Video.Status.DONE:
        return answer
    general = job.settings
    named = _names_wanted(job.video, general)
    results = _detections(call, job, params, VideoLabel.Kind.LABEL, named=named, key="Label",
                          as_json=lambda row: label_json(label_of(row)),
                          wanted=lambda row: label_wanted(label_of(row), general))  # fmt: skip
    return {**answer, **results}


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
    results = _detections(call, job, params, VideoLabel.Kind.MODERATION, key="ModerationLabel",
                          as_json=lambda row: moderation_json(moderation_of(row)))  # fmt: skip
    return {**answer, **results}


def _names_wanted(video: Video, general: dict[str, Any]) -> Q:
    """The names of the labels that can pass ``Settings.GeneralLabels``' filters, so that the database reads
    only those: the names filtered, and for categories the video's names whose categories pass (a label's
    categories come with its name, so the names are a short list however long the video). ``label_wanted``
    still decides each row."""
    named = Q(name__in=general["LabelInclusionFilters"]) if general.get("LabelInclusionFilters") else Q()
    named &= ~Q(name__in=general.get("LabelExclusionFilters", ()))
    if general.get("LabelCategoryInclusionFilters") or general.get("LabelCategoryExclusionFilters"):
        found = video.label_segments.filter(named, kind=VideoLabel.Kind.LABEL)
        names = found.order_by("name").values_list("name", flat=True).distinct()  # from the index alone
        labels = [Label(name, 0.0, categories=_categories(found.filter(name=name))) for name in names]
        named &= Q(name__in={label.name for label in labels if label_wanted(label, general)})
    return named


def _categories(stretches: QuerySet[VideoLabelSegment]) -> tuple[str, ...]:
    """The categories of the label of these stretches (its first's: they come with its name)."""
    first: list[list[str] | None] = list(stretches.order_by("start").values_list("details__categories", flat=True)[:1])
    return tuple(first[0] or ()) if first else ()


def _asked(params: dict[str, Any]) -> dict[str, str]:
    return {"SortBy": params.get("SortBy", "TIMESTAMP"), "AggregateBy": params.get("AggregateBy", "TIMESTAMPS")}


def _detections(
    call: Call, job: VideoJob, params: dict[str, Any], kind: VideoLabel.Kind, *, key: str,
    as_json: Callable[[VideoLabel | VideoLabelSegment], dict[str, Any]], named: Q | None = None,
    wanted: Callable[[VideoLabel | VideoLabelSegment], bool] = lambda row: True,
) -> dict[str, Any]:  # fmt: skip
    """A page of the video's findings of ``kind`` (those ``named`` and ``wanted``) as Rekognition Video's
    detections, each ``{"Timestamp": …, key: …}``: one for each frame, or for ``SEGMENTS`` one for each
    stretch (with its start, end and length, and its most confident finding); by time, or by name for
    ``SortBy`` ``NAME``. Each page is read from the database alone, however long the video."""
    asked, video = _asked(params), job.video
    by_name, segmented = asked["SortBy"] == "NAME", asked["AggregateBy"] == "SEGMENTS"
    rows: QuerySet[Any] = (video.label_segments if segmented else video.labels).filter(named or Q(), kind=kind)
    when = "start" if segmented else "at"
    order = ("name", when, "pk") if by_name else (when, "name", "pk")
    found, more = page_of_rows(rows, order, params, default=RESULTS_PAGE, salt=results_salt(job), wanted=wanted)
    if not segmented:
        items = [{"Timestamp": millis(row.at), key: as_json(row)} for row in found]
    else:
        items = [
            {"Timestamp": millis(s.start), key: as_json(s), "StartTimestampMillis": millis(s.start),
             "EndTimestampMillis": millis(s.end), "DurationMillis": millis(s.end) - millis(s.start)}
            for s in found
        ]  # fmt: skip
    return job_page(call, job, GET_RESULTS[kind], items, more)
