"""Amazon Rekognition as a Facesite engine, through boto3.

Select it with ``RECOGNITION_ENGINE=rekognition``. Each Facesite collection is a Rekognition collection
named ``collection_prefix + name``; each enrolled person is a Rekognition user (their Facesite id) that
owns their reference faces, so identification and badge checks match on all of a person's faces.
See docs/REKOGNITION.md for the IAM policy, costs and differences from the local engine.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import boto3

from recognition.engines.base import (
    Analysis,
    BaseEngine,
    CollectionMissingError,
    ComparedFace,
    CompareResult,
    EngineError,
    FaceDetail,
    FaceMatch,
    FaceStore,
    ImageProperties,
    IndexedFace,
    Label,
    ModerationLabel,
    S3Location,
    TextDetection,
    UserMatch,
    VideoFace,
)
from recognition.engines.rekognition import parse
from recognition.engines.rekognition.client import ClientPerThread, ClientSettings, aws_errors, error_code
from recognition.engines.rekognition.payload import face_crop, image_param

logger = logging.getLogger(__name__)

# UnindexedFaces reasons, as the codes and messages local enrolment uses for the same faults.
UNINDEXED = {
    "SMALL_BOUNDING_BOX": ("face_too_small", "The face is too small for a reference face. Use a closer photo."),
    "LOW_SHARPNESS": ("face_too_blurry", "The face is too blurry for a reference face. Use a sharper photo."),
    "EXTREME_POSE": ("extreme_pose", "The face is turned too far from the camera. Use a photo facing it."),
    "LOW_BRIGHTNESS": ("face_too_dark", "The face is too dark for a reference face. Use a better lit photo."),
    "LOW_CONFIDENCE": ("low_face_quality", "The face could not be made out surely enough. Use a clearer photo."),
    "LOW_FACE_QUALITY": ("low_face_quality", "The face is of too low quality. Use a clearer photo."),
    "EXCEEDS_MAX_FACES": ("several_faces", "Several faces were found; a reference photo must show one person."),
}
# A badge check asks for this many closest people and looks for the badge holder among them.
VERIFY_CANDIDATES = 20
ALREADY_EXISTS = {"ResourceAlreadyExistsException", "ConflictException"}


class RekognitionEngine(BaseEngine):
    """Options (from settings, see docs/REKOGNITION.md): ``region``, ``collection_prefix`` ("facesite-"),
    ``quality_filter`` for indexing and searching (AUTO), ``max_labels`` (50), ``dominant_colours`` (10),
    ``text_min_confidence`` / ``text_min_box_height`` / ``text_min_box_width`` (DetectText's WordFilter),
    ``connect_timeout`` (5 s), ``read_timeout`` (30 s), ``max_attempts`` (4, botocore's standard retries)."""

    name = "rekognition"
    model_version = "7.0"  # Rekognition's face model: every collection created since 2021 uses it
    stored_video = True

    def __init__(
        self,
        *,
        face_store: FaceStore | None = None,
        region: str | None = None,
        collection_prefix: str = "facesite-",
        quality_filter: str = "AUTO",
        max_labels: int = 50,
        dominant_colours: int = 10,
        text_min_confidence: float | None = None,
        text_min_box_height: float | None = None,
        text_min_box_width: float | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 4,
        video_poll_seconds: float = 10.0,
        video_timeout: float = 3 * 3600.0,
        **options: Any,
    ) -> None:
        super().__init__(face_store=face_store, **options)
        self.clients = ClientPerThread(
            ClientSettings(
                region=region or None,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                max_attempts=max_attempts,
            )
        )
        self.collection_prefix = collection_prefix
        self.video_poll_seconds = video_poll_seconds
        self.video_timeout = video_timeout
        self.quality_filter = quality_filter
        self.max_labels = max_labels
        self.dominant_colours = dominant_colours
        self.word_filter = {
            key: float(value)
            for key, value in (
                ("MinConfidence", text_min_confidence),
                ("MinBoundingBoxHeight", text_min_box_height),
                ("MinBoundingBoxWidth", text_min_box_width),
            )
            if value is not None
        }
        self._collections: set[str] = set()  # known to exist, so each is created once per process

    # Plumbing -------------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        return self.clients.get()

    def ready(self) -> None:
        # Without a call to AWS (probes run often; calls cost): credentials to sign with, and a region.
        if boto3.session.Session().get_credentials() is None:
            raise EngineError("No AWS credentials were found for Rekognition (boto3's credential chain).")
        if not self.region:
            raise EngineError("No AWS region is set for Rekognition (FACESITE_REKOGNITION_REGION or AWS_REGION).")

    @property
    def region(self) -> str | None:
        return str(self.client.meta.region_name or "") or None

    def collection_id(self, collection: str) -> str:
        return f"{self.collection_prefix}{collection}"

    def _call(self, operation: str, *, collection: str | None = None, **params: Any) -> dict[str, Any]:
        """Call the client; ``collection`` (our name) marks calls whose "not found" means the collection is gone."""
        try:
            with aws_errors(collection_id=collection):
                response: dict[str, Any] = getattr(self.client, operation)(**params)
        except CollectionMissingError:
            self._collections.discard(str(collection))
            raise
        return response

    # Stored video ----------------------------------------------------------------------------

    def track_faces_in_video(self, collection_id: str, location: S3Location) -> list[VideoFace]:
        """Rekognition's stored-video face search (StartFaceSearch), polled with GetFaceSearch until it ends:
        no SNS topic or IAM role for notifications to set up. The video must be in S3 in this region.
        Matches are not taken from it: each followed face is identified like any face, once, by the caller."""
        if location.region != self.region:
            raise EngineError(f"Rekognition in {self.region} cannot read a video in {location.region}.")
        job = self._call(
            "start_face_search", collection=collection_id, CollectionId=self.collection_id(collection_id),
            Video={"S3Object": {"Bucket": location.bucket, "Name": location.key}},
        )["JobId"]  # fmt: skip
        found: list[VideoFace] = []
        token: str | None = None
        deadline = time.monotonic() + self.video_timeout
        while True:
            page = self._call("get_face_search", JobId=job, MaxResults=1000, SortBy="INDEX",
                              **({"NextToken": token} if token else {}))  # fmt: skip
            status = page["JobStatus"]
            if status == "IN_PROGRESS":
                if time.monotonic() > deadline:
                    raise EngineError(f"Rekognition's video face search {job} ran past {self.video_timeout:g} s.")
                time.sleep(self.video_poll_seconds)
                continue
            if status != "SUCCEEDED":
                reason = str(page.get("StatusMessage") or status).rstrip(".")
                raise EngineError(f"Rekognition could not search the video: {reason}.")
            found += [
                VideoFace(at=hit["Timestamp"] / 1000.0, track=int(hit["Person"]["Index"]),
                          face=parse.face(hit["Person"].get("Face") or {"BoundingBox": hit["Person"]["BoundingBox"]}))
                for hit in page.get("Persons", [])
            ]  # fmt: skip
            token = page.get("NextToken")
            if not token:
                return found

    def _image(self, data: bytes, location: S3Location | None = None) -> dict[str, Any]:
        return image_param(data, location=location, region=self.region, max_pixels=self.max_pixels)

    # Image analysis -------------------------------------------------------------------------

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
        source = self._image(image, location)
        result = Analysis()
        if "labels" in features or "properties" in features:
            result.labels, result.properties = self._detect_labels(
                source,
                min_confidence=min_label_confidence,
                max_labels=self.max_labels,
                labels="labels" in features,
                properties="properties" in features,
            )
        if "faces" in features:
            result.faces = self._detect_faces(source, attributes=face_attributes)
        if "text" in features:
            result.text = self._detect_text(source)
        if "moderation" in features:
            result.moderation = self._detect_moderation(source, min_confidence=min_moderation_confidence)
        return result

    def detect_labels(self, image: bytes, *, max_labels: int = 50, min_confidence: float = 55.0) -> list[Label]:
        return self._detect_labels(self._image(image), min_confidence=min_confidence, max_labels=max_labels)[0]

    def detect_image_properties(self, image: bytes) -> ImageProperties:
        properties = self._detect_labels(
            self._image(image), min_confidence=0.0, max_labels=1, labels=False, properties=True
        )[1]
        assert properties is not None
        return properties

    def detect_faces(self, image: bytes, *, attributes: bool = True) -> list[FaceDetail]:
        return self._detect_faces(self._image(image), attributes=attributes)

    def detect_text(self, image: bytes) -> list[TextDetection]:
        return self._detect_text(self._image(image))

    def detect_moderation_labels(self, image: bytes, *, min_confidence: float = 50.0) -> list[ModerationLabel]:
        return self._detect_moderation(self._image(image), min_confidence=min_confidence)

    def _detect_labels(
        self,
        source: dict[str, Any],
        *,
        min_confidence: float,
        max_labels: int,
        labels: bool = True,
        properties: bool = False,
    ) -> tuple[list[Label], ImageProperties | None]:
        features = (["GENERAL_LABELS"] if labels else []) + (["IMAGE_PROPERTIES"] if properties else [])
        params: dict[str, Any] = {"Image": source, "Features": features}
        if labels:
            params.update(MaxLabels=max_labels, MinConfidence=min_confidence)
        if properties:
            params["Settings"] = {"ImageProperties": {"MaxDominantColors": self.dominant_colours}}
        response = self._call("detect_labels", **params)
        found = [parse.label(item) for item in response.get("Labels", [])]
        found.sort(key=lambda label: -label.confidence)
        image_properties = parse.properties(response["ImageProperties"]) if "ImageProperties" in response else None
        return found, image_properties

    def _detect_faces(self, source: dict[str, Any], *, attributes: bool) -> list[FaceDetail]:
        response = self._call("detect_faces", Image=source, Attributes=["ALL"] if attributes else ["DEFAULT"])
        return parse.faces(response.get("FaceDetails", []))

    def _detect_text(self, source: dict[str, Any]) -> list[TextDetection]:
        params: dict[str, Any] = {"Image": source}
        if self.word_filter:
            params["Filters"] = {"WordFilter": self.word_filter}
        response = self._call("detect_text", **params)
        return [parse.text(item) for item in response.get("TextDetections", [])]

    def _detect_moderation(self, source: dict[str, Any], *, min_confidence: float) -> list[ModerationLabel]:
        response = self._call("detect_moderation_labels", Image=source, MinConfidence=min_confidence)
        return [parse.moderation(item) for item in response.get("ModerationLabels", [])]

    # Collections ----------------------------------------------------------------------------

    def create_collection(self, collection_id: str) -> bool:
        if collection_id in self._collections:
            return False
        try:
            self._call("create_collection", CollectionId=self.collection_id(collection_id))
            created = True
        except EngineError as exc:
            if error_code(exc.__cause__) not in ALREADY_EXISTS:
                raise
            created = False
        self._collections.add(collection_id)
        if created:
            logger.info("Created the Rekognition collection %s.", self.collection_id(collection_id))
        return created

    def delete_collection(self, collection_id: str) -> None:
        self._collections.discard(collection_id)
        try:
            self._call("delete_collection", CollectionId=self.collection_id(collection_id))
        except EngineError as exc:
            if error_code(exc.__cause__) != "ResourceNotFoundException":
                raise

    def index_faces(
        self,
        collection_id: str,
        image: bytes,
        *,
        external_image_id: str = "",
        max_faces: int = 1,
        location: S3Location | None = None,
    ) -> list[IndexedFace]:
        params: dict[str, Any] = {
            "CollectionId": self.collection_id(collection_id),
            "Image": self._image(image, location),
            "DetectionAttributes": ["DEFAULT"],
            "MaxFaces": max_faces,
            "QualityFilter": self.quality_filter,
        }
        if external_image_id:
            params["ExternalImageId"] = external_image_id
        response = self._call("index_faces", collection=collection_id, **params)
        records = response.get("FaceRecords", [])
        if not records:
            raise _unindexed(response.get("UnindexedFaces", []))
        indexed = [
            IndexedFace(face_id=str(record["Face"]["FaceId"]), face=parse.face(record.get("FaceDetail", {})))
            for record in records
        ]
        return sorted(indexed, key=lambda f: -f.face.bounding_box.area)

    def delete_faces(self, collection_id: str, face_ids: Sequence[str]) -> None:
        ids = list(face_ids)
        for start in range(0, len(ids), 4096):
            try:
                response = self._call(
                    "delete_faces", CollectionId=self.collection_id(collection_id), FaceIds=ids[start : start + 4096]
                )
            except EngineError as exc:
                if error_code(exc.__cause__) == "ResourceNotFoundException":
                    return  # the collection is gone, and the faces with it
                raise
            stuck = [
                f["FaceId"]
                for f in response.get("UnsuccessfulFaceDeletions", [])
                if "FACE_NOT_FOUND" not in f.get("Reasons", [])
            ]
            if stuck:
                raise EngineError(f"Amazon Rekognition kept faces {', '.join(stuck)}: they still belong to a user.")

    def associate_faces(self, collection_id: str, user_id: str, face_ids: Sequence[str]) -> None:
        aws_collection = self.collection_id(collection_id)
        try:
            self._call("create_user", collection=collection_id, CollectionId=aws_collection, UserId=user_id)
        except EngineError as exc:
            if error_code(exc.__cause__) not in ALREADY_EXISTS:
                raise
        ids = list(face_ids)
        for start in range(0, len(ids), 100):
            response = self._call(
                "associate_faces",
                collection=collection_id,
                CollectionId=aws_collection,
                UserId=user_id,
                FaceIds=ids[start : start + 100],
                # The operator says whose face it is; Facesite's own quality gate has already run.
                UserMatchThreshold=0.0,
            )
            failed = response.get("UnsuccessfulFaceAssociations", [])
            if failed:
                reasons = sorted({r for f in failed for r in f.get("Reasons", [])})
                raise EngineError(f"Amazon Rekognition did not give the face to the person ({', '.join(reasons)}).")

    def disassociate_faces(self, collection_id: str, user_id: str, face_ids: Sequence[str]) -> None:
        ids = list(face_ids)
        for start in range(0, len(ids), 100):
            try:
                self._call(
                    "disassociate_faces",
                    CollectionId=self.collection_id(collection_id),
                    UserId=user_id,
                    FaceIds=ids[start : start + 100],
                )
            except EngineError as exc:
                if error_code(exc.__cause__) == "ResourceNotFoundException":
                    return  # no such user (or collection) any more: nothing to take away
                raise

    def delete_user(self, collection_id: str, user_id: str) -> None:
        try:
            self._call("delete_user", CollectionId=self.collection_id(collection_id), UserId=user_id)
        except EngineError as exc:
            if error_code(exc.__cause__) != "ResourceNotFoundException":
                raise

    # Searching ------------------------------------------------------------------------------
    #
    # Rekognition searches only the largest face of the image it is sent, so each face is cut out
    # (with a margin) and searched on its own.

    def search_face(
        self, collection_id: str, image: bytes, face: FaceDetail, *, threshold: float = 80.0, max_matches: int = 10
    ) -> list[FaceMatch]:
        response = self._search(
            "search_faces_by_image",
            collection_id,
            image,
            face,
            FaceMatchThreshold=threshold,
            MaxFaces=max_matches,
        )
        matches = [
            FaceMatch(face_id=str(m["Face"]["FaceId"]), similarity=float(m["Similarity"]))
            for m in response.get("FaceMatches", [])
        ]
        return sorted(matches, key=lambda m: -m.similarity)

    def search_users(
        self, collection_id: str, image: bytes, face: FaceDetail, *, threshold: float = 80.0, max_users: int = 10
    ) -> list[UserMatch]:
        response = self._search(
            "search_users_by_image", collection_id, image, face, UserMatchThreshold=threshold, MaxUsers=max_users
        )
        matches = [
            UserMatch(user_id=str(m["User"]["UserId"]), similarity=float(m["Similarity"]))
            for m in response.get("UserMatches", [])
        ]
        return sorted(matches, key=lambda m: -m.similarity)

    def user_similarity(self, collection_id: str, image: bytes, face: FaceDetail, user_id: str) -> float | None:
        found = self.search_users(collection_id, image, face, threshold=0.0, max_users=VERIFY_CANDIDATES)
        return next((m.similarity for m in found if m.user_id == user_id), None)

    def _search(
        self, operation: str, collection_id: str, image: bytes, face: FaceDetail, **params: Any
    ) -> dict[str, Any]:
        try:
            return self._call(
                operation,
                collection=collection_id,
                CollectionId=self.collection_id(collection_id),
                Image={"Bytes": face_crop(image, face.bounding_box, max_pixels=self.max_pixels)},
                QualityFilter=self.quality_filter,
                **params,
            )
        except EngineError as exc:
            if exc.code == "no_face":
                return {}  # Rekognition finds no face in the cut-out: it matches no one
            raise

    def compare_faces(self, source: bytes, target: bytes, *, threshold: float = 80.0) -> CompareResult:
        # Threshold 0: every face of the target comes back with its similarity; split here.
        response = self._call(
            "compare_faces",
            SourceImage=self._image(source),
            TargetImage=self._image(target),
            SimilarityThreshold=0.0,
            QualityFilter="NONE",
        )
        compared = [
            ComparedFace(face=parse.face(m["Face"]), similarity=float(m["Similarity"]))
            for m in response.get("FaceMatches", [])
        ] + [ComparedFace(face=parse.face(f), similarity=0.0) for f in response.get("UnmatchedFaces", [])]
        compared.sort(key=lambda c: -c.similarity)
        return CompareResult(
            source_face=parse.face(response.get("SourceImageFace", {})),
            matches=tuple(c for c in compared if c.similarity >= threshold),
            unmatched=tuple(c for c in compared if c.similarity < threshold),
        )


def _unindexed(unindexed: list[dict[str, Any]]) -> EngineError:
    """Why Rekognition indexed no face, as the enrolment error local enrolment gives for the same fault."""
    if not unindexed:
        return EngineError("No face was found in the photo.", code="no_face")
    for reason in unindexed[0].get("Reasons", []):
        if reason in UNINDEXED:
            code, message = UNINDEXED[reason]
            return EngineError(message, code=code)
    return EngineError("Amazon Rekognition would not index the face.", code="not_indexed")
