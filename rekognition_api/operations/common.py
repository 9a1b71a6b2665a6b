"""What the operations share: the caller, collections and images from parameters, and results in
Rekognition's JSON shapes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from recognition.engine_handler import get_engine
from recognition.engines.base import FaceDetail, Label, ModerationLabel, TextDetection
from recognition.exceptions import engine_call
from recognition.fetch import FetchRefused, TooLarge
from recognition.models import Collection, Face, Person
from recognition.s3_objects import S3Object, s3_bytes, s3_size
from recognition.services.quality import quality_faults
from recognition.validation import CheckedImage, ImageRejected, inspect_image
from rekognition_api.models import CollectionUser
from rekognition_api.operations.regions import in_regions
from rekognition_api.protocol import AwsError, invalid_parameter

MAX_BYTES = 5 * 1024 * 1024  # Image.Bytes, as AWS limits it
MAX_S3_BYTES = 15 * 1024 * 1024
FORMATS = {"JPEG", "MPO", "PNG"}  # what Rekognition reads (MPO: a JPEG with more pictures after it)
NO_FACE = "There are no faces in the image. Should be at least 1."


@dataclass(frozen=True)
class Call:
    """Who calls, with which of their access keys, from where, in which region they signed for."""

    user: Any
    client_ip: str | None
    region: str
    access_key_id: str = ""

    def require(self, permission: str, *, to: str) -> None:
        if not self.user.has_perm(permission):
            raise AwsError(
                "AccessDeniedException",
                f"User {self.user.get_username()} is not authorized to {to} ({permission}).",
            )


def collection(params: dict[str, Any]) -> Collection:
    found = Collection.objects.filter(name=params["CollectionId"]).first()
    if found is None:
        raise AwsError("ResourceNotFoundException", f"The collection id: {params['CollectionId']} does not exist")
    return found


def arn(call: Call, name: str) -> str:
    return f"aws:rekognition:{call.region}:000000000000:collection/{name}"


def model_version() -> str:
    return get_engine().model_version


def image(param: dict[str, Any]) -> CheckedImage:
    """The bytes of an ``Image`` parameter (sent, or read from S3), checked as Rekognition checks them."""
    if "Bytes" in param:
        data = param["Bytes"]
        if len(data) > MAX_BYTES:
            raise AwsError("ImageTooLargeException", f"Image size is too large ({len(data):,} bytes; at most "
                           f"{MAX_BYTES:,}).")  # fmt: skip
    elif "S3Object" in param:
        data = _from_s3(param["S3Object"])  # read no further than MAX_S3_BYTES
    else:
        raise invalid_parameter("Image needs Bytes or an S3Object.")
    try:
        info = inspect_image(data)
    except ImageRejected as exc:
        if exc.code == "too_many_pixels":  # a picture too large, as AWS says of one over its limits
            raise AwsError("ImageTooLargeException", f"Image size is too large: {exc.message}") from exc
        raise AwsError("InvalidImageFormatException", f"Request has invalid image format: {exc.message}") from exc
    if info.format not in FORMATS:
        raise AwsError("InvalidImageFormatException", f"Request has invalid image format ({info.format}): "
                       "Rekognition reads JPEG and PNG.")  # fmt: skip
    return CheckedImage(data=data, info=info)


def _from_s3(param: dict[str, Any]) -> bytes:
    with _s3_reading():
        try:
            return s3_bytes(s3_object(param), limit=MAX_S3_BYTES)
        except TooLarge as exc:
            raise AwsError("ImageTooLargeException", f"Image size is too large (more than {MAX_S3_BYTES:,} bytes, "
                           "the most Rekognition reads from S3).") from exc  # fmt: skip


def s3_video(param: dict[str, Any], *, limit: int) -> S3Object:
    """A video's ``S3Object``, there and at most ``limit`` bytes (``VideoTooLargeException``), asked of S3
    without reading it: the worker reads it, as a video sent as a URL."""
    found = s3_object(param)
    with _s3_reading():
        size = s3_size(found)
    if size > limit:
        raise AwsError("VideoTooLargeException", f"The video is {size:,} bytes, larger than {limit:,} bytes, the "
                       "most this server takes (FACESITE_VIDEO_MAX_BYTES).")  # fmt: skip
    return found


def s3_object(param: dict[str, Any]) -> S3Object:
    """The object an ``S3Object`` names, from a bucket callers may name (``FACESITE_REKOGNITION_API_S3_BUCKETS``):
    Facesite reads with its own credentials, not the caller's, which must not reach every bucket those can."""
    found, allowed = S3Object.from_param(param), settings.FACESITE_REKOGNITION_API_S3_BUCKETS
    if "*" not in allowed and found.bucket not in allowed:
        raise AwsError("InvalidS3ObjectException", f"Unable to get object metadata from S3: this server reads "
                       f"S3Objects only from the buckets in FACESITE_REKOGNITION_API_S3_BUCKETS, and {found.bucket} "
                       "is not one of them.")  # fmt: skip
    return found


@contextmanager
def _s3_reading() -> Iterator[None]:
    """S3's refusals and failures, as the ``InvalidS3ObjectException`` Rekognition answers with."""
    try:
        yield
    except FetchRefused as exc:
        raise AwsError("InvalidS3ObjectException", f"Unable to get object metadata from S3: {exc.message}") from exc


def box(value: Any) -> dict[str, float]:
    return dict(value.as_dict())


#: Rekognition's names for a face's attributes in a request (``Attributes``, ``DetectionAttributes``), and the
#: keys of a ``FaceDetail`` they ask for beside the default ones (box, confidence, landmarks, pose, quality).
ATTRIBUTE_KEYS = {
    "AGE_RANGE": "AgeRange", "BEARD": "Beard", "EMOTIONS": "Emotions", "EYE_DIRECTION": "EyeDirection",
    "EYEGLASSES": "Eyeglasses", "EYES_OPEN": "EyesOpen", "FACE_OCCLUDED": "FaceOccluded", "GENDER": "Gender",
    "MOUTH_OPEN": "MouthOpen", "MUSTACHE": "Mustache", "SMILE": "Smile", "SUNGLASSES": "Sunglasses",
}  # fmt: skip
EVERY_ATTRIBUTE = frozenset(ATTRIBUTE_KEYS.values())


def face_detail(face: FaceDetail, *, attributes: frozenset[str] = EVERY_ATTRIBUTE) -> dict[str, Any]:
    """The face as Rekognition describes it, with those of its attributes (``FaceDetail`` keys) asked for."""
    detail: dict[str, Any] = {
        "BoundingBox": box(face.bounding_box),
        "Confidence": face.confidence,
        "Landmarks": [{"Type": mark.type, "X": mark.x, "Y": mark.y} for mark in face.landmarks],
        "Pose": dict(face.pose),
        "Quality": dict(face.quality),
    }
    detail.update({key: value for key, value in face.attributes.items() if key in attributes})
    return detail


def attributes_asked(names: Sequence[str] | None) -> frozenset[str]:
    """The ``FaceDetail`` keys a request's attribute names ask for: none for DEFAULT (or none given), every one
    for ALL, else those named."""
    if "ALL" in (names or ()):
        return EVERY_ATTRIBUTE
    return frozenset(ATTRIBUTE_KEYS[name] for name in names or () if name in ATTRIBUTE_KEYS)


def label_wanted(label: Label, settings: dict[str, Any]) -> bool:
    """Whether ``label`` passes ``Settings.GeneralLabels``' filters (names and categories, in or out)."""
    categories = set(label.categories)
    if settings.get("LabelInclusionFilters") and label.name not in settings["LabelInclusionFilters"]:
        return False
    if label.name in settings.get("LabelExclusionFilters", ()):
        return False
    included = settings.get("LabelCategoryInclusionFilters")
    if included and not categories & set(included):
        return False
    return not categories & set(settings.get("LabelCategoryExclusionFilters", ()))


def label_json(label: Label) -> dict[str, Any]:
    """The label as Rekognition's ``Label``."""
    return {
        "Name": label.name,
        "Confidence": label.confidence,
        "Instances": [{"BoundingBox": box(i.bounding_box), "Confidence": i.confidence} for i in label.instances],
        "Parents": [{"Name": name} for name in label.parents],
        "Aliases": [{"Name": name} for name in label.aliases],
        "Categories": [{"Name": name} for name in label.categories],
    }


def moderation_json(label: ModerationLabel) -> dict[str, Any]:
    """The moderation label as Rekognition's ``ModerationLabel``."""
    return {"Confidence": label.confidence, "Name": label.name, "ParentName": label.parent_name,
            "TaxonomyLevel": label.taxonomy_level}  # fmt: skip


def text_wanted(text: TextDetection, filters: dict[str, Any]) -> bool:
    """Whether DetectText's (or StartTextDetection's) ``Filters`` keep a line or word: more than half in one of
    the ``RegionsOfInterest``, if any; a word, also as confident and as large as the ``WordFilter`` asks."""
    if not in_regions(text.bounding_box, filters.get("RegionsOfInterest", [])):
        return False
    words = filters.get("WordFilter", {})
    return text.type == "LINE" or (
        text.confidence >= words.get("MinConfidence", 0.0)
        and text.bounding_box.height >= words.get("MinBoundingBoxHeight", 0.0)
        and text.bounding_box.width >= words.get("MinBoundingBoxWidth", 0.0)
    )


def text_json(text: TextDetection) -> dict[str, Any]:
    """A line or word as Rekognition's ``TextDetection``."""
    found: dict[str, Any] = {
        "DetectedText": text.text,
        "Type": text.type,
        "Id": text.id,
        "Confidence": text.confidence,
        "Geometry": {"BoundingBox": box(text.bounding_box), "Polygon": [{"X": x, "Y": y} for x, y in text.polygon]},
    }
    if text.parent_id is not None:
        found["ParentId"] = text.parent_id
    return found


def user_id_of(person: Person | None, collection: Collection) -> str | None:
    """The Rekognition UserId of a person in a collection: the one given when the user was created, else
    (people enrolled through the back office) the person's own id."""
    if person is None:
        return None
    row = CollectionUser.objects.filter(collection=collection, person=person).first()
    return row.user_id if row else str(person.pk)


def faces_by_id(collection: Collection, face_ids: Sequence[str]) -> dict[str, Face]:
    """The collection's reference faces among these ids (unknown or malformed ids left out)."""
    ids = [f for f in (as_uuid(x) for x in face_ids) if f]
    rows = Face.objects.references().filter(collection=collection, pk__in=ids).select_related("image", "person")
    return {str(row.pk): row for row in rows}


def person_of(collection: Collection, user_id: str) -> Person:
    row = CollectionUser.objects.filter(collection=collection, user_id=user_id).select_related("person").first()
    if row is not None:
        return row.person
    pk = as_uuid(user_id)
    person = Person.objects.filter(pk=pk, faces__collection=collection).first() if pk else None
    if person is None:
        raise AwsError("ResourceNotFoundException", f"The user id: {user_id} does not exist in the collection.")
    return person


def as_uuid(value: str) -> str | None:
    """The value as a UUID string, or None: ids clients send may be anything."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def face_json(face: Face, collection: Collection) -> dict[str, Any]:
    found: dict[str, Any] = {
        "FaceId": str(face.pk),
        "BoundingBox": box(face.bounding_box),
        "ImageId": str(face.image_id),
        "Confidence": face.confidence,
        "IndexFacesModelVersion": face.model_version or model_version(),
    }
    if face.external_image_id:
        found["ExternalImageId"] = face.external_image_id
    user = user_id_of(face.person, collection)
    if user:
        found["UserId"] = user
    return found


@dataclass(frozen=True)
class SearchedFaces:
    """The faces of a search's image: the one searched (the largest that passes the ``QualityFilter``), and
    the others, each with why it was not searched (Rekognition's ``UnsearchedFaceReason``)."""

    searched: FaceDetail
    unsearched: list[tuple[FaceDetail, list[str]]]


def faces_to_search(probe: CheckedImage, params: dict[str, Any], *, attributes: bool) -> SearchedFaces:
    """The faces of ``probe`` as SearchFacesByImage and SearchUsersByImage take them: with a ``QualityFilter``
    other than NONE (the default), faces below its bar (``quality_faults``) are not searched; no face left is
    ``InvalidParameterException``."""
    with engine_call():
        faces = get_engine().detect_faces(probe.data, attributes=attributes)
    if not faces:
        raise invalid_parameter(NO_FACE)
    level = params.get("QualityFilter", "NONE")
    faults = [quality_faults(face, probe, level) for face in faces]  # faces come largest first
    passing = [face for face, fault in zip(faces, faults, strict=True) if not fault]
    if not passing:
        raise invalid_parameter(f"No face in the image passes the quality filter ({', '.join(faults[0])}).")
    unsearched = [(face, fault or ["FACE_NOT_LARGEST"]) for face, fault in zip(faces, faults, strict=True)
                  if face is not passing[0]]  # fmt: skip
    return SearchedFaces(passing[0], unsearched)
