"""StartFaceSearch and GetFaceSearch, StartFaceDetection and GetFaceDetection: Rekognition Video's face search
and face detection in a stored video, on Facesite's own video analysis (``videos``). A job is a Facesite video,
in the back office like any other; its ``Persons`` (and ``Faces``) are the video's sightings, one for each time
a sighting's face was sampled. A face detection job's video is searched among no one. Starting a job, finding
one and answering a page of its results are shared with label detection and content moderation
(``video_labels``) and text detection (``video_text``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from recognition.audit import audit_record
from recognition.engines.base import FaceDetail
from recognition.models import AuditEvent, Collection, Face
from recognition.s3_objects import S3Object, is_s3
from rekognition_api.models import VideoJob
from rekognition_api.operations.common import Call, as_uuid, collection, face_detail, face_json, s3_video
from rekognition_api.operations.pages import page_after
from rekognition_api.protocol import AwsError, invalid_parameter
from videos.models import Sighting, Video
from videos.services import AnalysisOptions, video_upload_s3
from videos.sightings import sighting_faces
from videos.timeline import SeenFace, faces_by_sighting, faces_by_time, sighting_indexes

START = "videos.add_video"
RESULTS_PAGE = 1000  # a Get's MaxResults when not given (and the most AWS allows)
SEE = "videos.view_video"
GET = {
    VideoJob.Kind.FACE_SEARCH: "GetFaceSearch", VideoJob.Kind.FACE_DETECTION: "GetFaceDetection",
    VideoJob.Kind.LABEL_DETECTION: "GetLabelDetection", VideoJob.Kind.CONTENT_MODERATION: "GetContentModeration",
    VideoJob.Kind.TEXT_DETECTION: "GetTextDetection",
}  # fmt: skip
STATUS = {
    Video.Status.PENDING: "IN_PROGRESS",
    Video.Status.PROCESSING: "IN_PROGRESS",
    Video.Status.DONE: "SUCCEEDED",
    Video.Status.FAILED: "FAILED",
}


def start_face_search(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Queue the search of a video in S3 against the collection: the job's id. The request asks S3 only whether
    the video is there and not too large; the worker reads it, checks it (a file that is no video fails the
    job, saying why, as on AWS) and analyses it."""
    options = AnalysisOptions(face_details=Video.FaceDetails.DEFAULT)  # what Rekognition Video answers of a face
    return job_start(call, params, VideoJob.Kind.FACE_SEARCH, options, collection=collection(params))


def start_face_detection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Queue the finding of the faces in a video in S3, as StartFaceSearch does but searched among no one: the
    faces are found and followed, none identified, none sent to review."""
    options = AnalysisOptions(identify=False, face_details=_face_details(params.get("FaceAttributes", "DEFAULT")))
    return job_start(call, params, VideoJob.Kind.FACE_DETECTION, options)


def get_face_search(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The job's status; once it succeeded, the faces followed through the video, a page at a time."""
    job, answer = job_of(call, params, VideoJob.Kind.FACE_SEARCH)
    if job.video.status != Video.Status.DONE:
        return answer
    sightings, by_index = Sighting.objects.filter(video=job.video), params.get("SortBy", "TIMESTAMP") == "INDEX"
    found, more = page_after(
        lambda after, _: (faces_by_sighting if by_index else faces_by_time)(sightings, after=after),
        SeenFace.by_sighting if by_index else SeenFace.by_time, params, default=RESULTS_PAGE,
        salt=f"{results_salt(job)}.{'index' if by_index else 'time'}",
    )  # fmt: skip
    return {**answer, **job_page(call, job, "Persons", _persons(job, sightings, found), more)}


def get_face_detection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The job's status; once it succeeded, each face at each frame it was seen in, by time, a page at a time."""
    job, answer = job_of(call, params, VideoJob.Kind.FACE_DETECTION)
    if job.video.status != Video.Status.DONE:
        return answer
    sightings = Sighting.objects.filter(video=job.video)
    found, more = page_after(lambda after, _: faces_by_time(sightings, after=after), SeenFace.by_time, params,
                             default=RESULTS_PAGE, salt=f"{results_salt(job)}.time")  # fmt: skip
    faces = _faces(found)
    items = [{"Timestamp": millis(seen.at), "Face": faces[seen]} for seen in found]
    return {**answer, **job_page(call, job, "Faces", items, more)}


def job_start(
    call: Call, params: dict[str, Any], kind: VideoJob.Kind, options: AnalysisOptions, *,
    collection: Collection | None = None, get_filters: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Start a job of ``kind``: a video read from the S3 object the call names, analysed as ``options`` say
    (against ``collection``, else the default one); ``get_filters``, the filters its Get applies to the results."""
    call.require(START, to="analyse videos")
    if params.get("NotificationChannel"):
        raise invalid_parameter(f"NotificationChannel (Amazon SNS) is not supported here: poll {GET[kind]} "
                                "until JobStatus is SUCCEEDED or FAILED.")  # fmt: skip
    token = params.get("ClientRequestToken", "")
    earlier = VideoJob.objects.filter(user=call.user, client_request_token=token).first() if token else None
    if earlier is not None:
        if earlier.kind != kind:
            raise AwsError("IdempotentParameterMismatchException", f"ClientRequestToken {token} started a "
                           f"{earlier.get_kind_display().lower()} job; a token starts one job.")  # fmt: skip
        return {"JobId": str(earlier.video_id)}
    if not params["Video"].get("S3Object"):
        raise invalid_parameter("Video needs an S3Object.")
    source = s3_video(params["Video"]["S3Object"], limit=settings.FACESITE_VIDEO_MAX_BYTES)
    try:
        with transaction.atomic():  # the job and its video together: its analysis is queued once both are
            video = video_upload_s3(source=source, collection=collection, uploaded_by=call.user,
                                    client_ip=call.client_ip, options=options)  # fmt: skip
            VideoJob.objects.create(video=video, user=call.user, client_request_token=token, kind=kind,
                                    job_tag=params.get("JobTag", ""), settings=get_filters or {},
                                    face_match_threshold=params.get("FaceMatchThreshold", 80.0))  # fmt: skip
    except IntegrityError:  # the same token at the same moment: the other call's job (this one's rolled back)
        if not token:
            raise
        return {"JobId": str(VideoJob.objects.get(user=call.user, client_request_token=token).video_id)}
    return {"JobId": str(video.pk)}


def job_of(call: Call, params: dict[str, Any], kind: VideoJob.Kind) -> tuple[VideoJob, dict[str, Any]]:
    """The job of ``kind`` (any user's: videos are every role's to see, as in the back office) and what every
    answer about it says: its status, video, tag and failure."""
    call.require(SEE, to="see videos")
    job_id = as_uuid(params["JobId"])
    jobs = VideoJob.objects.select_related("video__collection").filter(kind=kind)
    job = jobs.filter(video_id=job_id).first() if job_id else None
    if job is None:
        raise AwsError("ResourceNotFoundException", f"The job id: {params['JobId']} does not exist.")
    video = job.video
    answer: dict[str, Any] = {"JobId": str(video.pk), "JobStatus": STATUS[Video.Status(video.status)]}
    if is_s3(video.source_url):  # the video the start named, as AWS answers it
        answer["Video"] = {"S3Object": S3Object.from_url(video.source_url).as_param()}
    if job.job_tag:
        answer["JobTag"] = job.job_tag
    if video.status == Video.Status.FAILED:
        answer["StatusMessage"] = video.error
    return job, answer


def job_page(call: Call, job: VideoJob, name: str, found: list[Any], more: dict[str, str]) -> dict[str, Any]:
    """A page of a finished job's results as ``name`` (``more``: its ``NextToken``, if any), with the video's
    metadata; reading it is audited as a view of the video."""
    audit_record(actor=call.user, action=AuditEvent.Action.VIDEO_VIEW, target=job.video, client_ip=call.client_ip,
                 via=GET[VideoJob.Kind(job.kind)])  # fmt: skip
    return {"VideoMetadata": _metadata(job.video), name: found, **more}


def results_salt(job: VideoJob) -> str:
    """What a job's page tokens are signed for: that job's results, no other's."""
    return f"facesite.rekognition-api.{job.kind}.{job.video_id}"


def _persons(job: VideoJob, sightings: QuerySet[Sighting], found: list[SeenFace]) -> list[dict[str, Any]]:
    """Each sampled face ``found`` as Rekognition Video's ``PersonMatch``: its sighting (``Index``, in the
    order sightings began) and the enrolled person it is, where it is someone at the job's
    ``FaceMatchThreshold`` or above (the person over the collection's match threshold, or the one sent to
    review below it)."""
    video, threshold = job.video, job.face_match_threshold
    seen = list({s.sighting.pk: s.sighting for s in found}.values())
    indexes = sighting_indexes(sightings, seen)
    references = _reference_faces(video.collection, {s.person_id or s.candidate_id for s in seen} - {None})
    matches: dict[Any, list[dict[str, Any]]] = {}
    for sighting in seen:
        face = references.get(sighting.person_id or sighting.candidate_id)
        if face is not None and sighting.similarity is not None and sighting.similarity >= threshold:
            matches[sighting.pk] = [{"Similarity": sighting.similarity, "Face": face_json(face, video.collection)}]
    faces = _faces(found)
    return [{"Timestamp": millis(s.at), "FaceMatches": matches.get(s.sighting.pk, []),
             "Person": {"Index": indexes[s.sighting.pk], "BoundingBox": faces[s]["BoundingBox"], "Face": faces[s]}}
            for s in found]  # fmt: skip


def _face_details(asked: str) -> str:
    """What a job's sightings keep at every frame: what Rekognition Video answers for a face (landmarks, pose
    and quality), and its attributes when ``FaceAttributes`` is ``ALL`` (the protocol refuses other values)."""
    return Video.FaceDetails.ALL if asked == "ALL" else Video.FaceDetails.DEFAULT


def _faces(found: list[SeenFace]) -> dict[SeenFace, dict[str, Any]]:
    """Each face ``found`` as a ``FaceDetail``, with what its video kept; each sighting is decoded once. A
    sighting recorded before confidences were kept has none (its ``boxes`` hold five numbers)."""
    decoded: dict[Any, list[FaceDetail]] = {}
    faces = {}
    for seen in found:
        sighting = seen.sighting
        if sighting.pk not in decoded:
            decoded[sighting.pk] = [face for _, face in sighting_faces(sighting)]
        detail = face_detail(decoded[sighting.pk][seen.index])
        if len(sighting.boxes[seen.index]) < 6:
            del detail["Confidence"]
        faces[seen] = {key: value for key, value in detail.items() if value not in ([], {})}
    return faces


def _reference_faces(found: Collection, people: set[Any]) -> dict[Any, Face]:
    """Each person's first reference face in the collection: the ``Face`` a match names."""
    faces = Face.objects.references().filter(collection=found, person_id__in=people).select_related("image", "person")
    first: dict[Any, Face] = {}
    for face in faces.order_by("image__created_at", "pk"):
        first.setdefault(face.person_id, face)
    return first


def _metadata(video: Video) -> dict[str, Any]:
    return {
        "Codec": video.codec, "Format": video.container, "DurationMillis": millis(video.duration or 0.0),
        "FrameRate": video.frame_rate or 0.0, "FrameHeight": video.height or 0, "FrameWidth": video.width or 0,
    }  # fmt: skip


def millis(seconds: float) -> int:
    """Seconds as Rekognition Video's milliseconds."""
    return round(seconds * 1000)
