"""The recognition engine interface.

Engines are leaves: image bytes in, plain dataclasses out. They know nothing of
Django models, so they can be tested and benchmarked alone. Every result has
AWS Rekognition's meaning whichever engine produced it:

* confidence and similarity are floats from 0 to 100;
* boxes and landmarks are ratios of the image's width and height (0..1), measured
  on the image as displayed (after EXIF orientation is applied).

Collections of enrolled faces belong to the engine's world (Rekognition keeps
them server-side). Engines that keep no server-side state read a collection
through a ``FaceStore`` handed to them at construction, so the application's
database stays the source of truth while engines stay free of Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

#: The largest picture (width × height) an engine decodes unless told otherwise. Django passes
#: FACESITE_MAX_IMAGE_PIXELS, the limit uploads are held to, where that is higher
#: (``recognition.validation.stored_pixel_limit``).
DEFAULT_MAX_PIXELS = 50_000_000

# "properties" is image quality (brightness, sharpness, contrast) and dominant colours: Rekognition's
# IMAGE_PROPERTIES, asked for on its own because AWS bills it separately.
FEATURES = ("labels", "faces", "text", "moderation", "properties")


class EngineError(Exception):
    """A recognition call failed.

    ``retryable`` says whether trying the same call again later can help (a
    throttled or unreachable service) or not (an image the engine cannot read);
    ``code`` names the case for callers that must tell cases apart (``no_face``).
    """

    code = "engine_error"

    def __init__(self, message: str, *, retryable: bool = False, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        if code is not None:
            self.code = code


class CollectionMissingError(EngineError):
    """The engine's copy of a collection is gone (deleted on AWS behind our back): it must be rebuilt."""

    def __init__(self, collection_id: str):
        super().__init__(
            f"The collection {collection_id!r} no longer exists in the engine; it is being rebuilt.",
            retryable=True,
            code="collection_missing",
        )
        self.collection_id = collection_id


class InvalidImageError(EngineError):
    """The bytes are not an image the engine can decode."""

    def __init__(self, message: str, *, code: str = "invalid_image"):
        super().__init__(message, retryable=False, code=code)


class ImageTooLargeError(InvalidImageError):
    """The image declares more pixels than allowed (a decompression bomb, or simply too big)."""


@dataclass(frozen=True)
class S3Location:
    """Where a stored image lives in S3, so an engine on AWS can read it there instead of being sent it."""

    bucket: str
    key: str
    region: str


@dataclass(frozen=True)
class BoundingBox:
    left: float
    top: float
    width: float
    height: float

    def clamped(self) -> BoundingBox:
        left = min(max(self.left, 0.0), 1.0)
        top = min(max(self.top, 0.0), 1.0)
        return BoundingBox(
            left=left,
            top=top,
            width=min(max(self.width, 0.0), 1.0 - left),
            height=min(max(self.height, 0.0), 1.0 - top),
        )

    @property
    def area(self) -> float:
        return self.width * self.height

    def overlap(self, other: BoundingBox) -> float:
        """Intersection over union with another box: 1 for the same box, 0 for boxes apart."""
        width = min(self.left + self.width, other.left + other.width) - max(self.left, other.left)
        height = min(self.top + self.height, other.top + other.height) - max(self.top, other.top)
        if width <= 0 or height <= 0:
            return 0.0
        inter = width * height
        return inter / (self.area + other.area - inter)

    def as_dict(self) -> dict[str, float]:
        """Rekognition's JSON shape, as stored with results, served by the API and written to XML."""
        return {"Left": self.left, "Top": self.top, "Width": self.width, "Height": self.height}

    def to_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in pixels of an image of the given size."""
        return (
            round(self.left * width),
            round(self.top * height),
            round((self.left + self.width) * width),
            round((self.top + self.height) * height),
        )


@dataclass(frozen=True)
class Landmark:
    type: str  # Rekognition's names: eyeLeft, eyeRight, nose, mouthLeft, mouthRight, ...
    x: float
    y: float


@dataclass(frozen=True)
class FaceDetail:
    bounding_box: BoundingBox
    confidence: float
    landmarks: tuple[Landmark, ...] = ()
    pose: dict[str, float] = field(default_factory=dict)  # Roll, Yaw, Pitch in degrees
    quality: dict[str, float] = field(default_factory=dict)  # Brightness, Sharpness 0..100
    attributes: dict[str, Any] = field(default_factory=dict)  # AgeRange, Gender, Emotions, ...
    # Identity vector for engines that compute one locally (L2-normalised float32);
    # None for engines whose vectors stay server-side (Rekognition).
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class LabelInstance:
    bounding_box: BoundingBox
    confidence: float


@dataclass(frozen=True)
class Label:
    name: str
    confidence: float
    parents: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    instances: tuple[LabelInstance, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class TextDetection:
    text: str
    type: str  # "LINE" or "WORD"
    confidence: float
    bounding_box: BoundingBox
    id: int
    parent_id: int | None = None
    polygon: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class ModerationLabel:
    name: str
    confidence: float
    parent_name: str = ""
    taxonomy_level: int = 1  # 1 top-level category, 2 its subcategory, 3 the finest


@dataclass(frozen=True)
class DominantColour:
    hex_code: str  # "#RRGGBB"
    simplified: str  # a basic colour name: red, green, blue, white, grey, black...
    pixel_percent: float


@dataclass(frozen=True)
class ImageProperties:
    """Image quality (0–100 each) and the main colours: Rekognition's IMAGE_PROPERTIES."""

    brightness: float
    sharpness: float
    contrast: float
    dominant_colours: tuple[DominantColour, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Rekognition's JSON shape, as stored and served."""
        return {
            "Quality": {"Brightness": self.brightness, "Sharpness": self.sharpness, "Contrast": self.contrast},
            "DominantColors": [
                {"HexCode": c.hex_code, "SimplifiedColor": c.simplified, "PixelPercent": c.pixel_percent}
                for c in self.dominant_colours
            ],
        }


@dataclass(frozen=True)
class FaceMatch:
    face_id: str  # the id under which the face was indexed in the collection
    similarity: float


@dataclass(frozen=True)
class UserMatch:
    """An enrolled person (Rekognition's "user": all their reference faces) and how alike the face is."""

    user_id: str
    similarity: float
    face_id: str = ""  # the user's face that matched best, where the engine says (Rekognition does not)


@dataclass(frozen=True)
class IndexedFace:
    face_id: str
    face: FaceDetail


@dataclass(frozen=True)
class ComparedFace:
    face: FaceDetail
    similarity: float


@dataclass(frozen=True)
class CompareResult:
    source_face: FaceDetail
    matches: tuple[ComparedFace, ...]  # at or above the threshold, best first
    unmatched: tuple[ComparedFace, ...]  # below it


@dataclass(frozen=True)
class VideoFace:
    """A face an engine found in a stored video: when (seconds from the start), which of the people it
    follows through the video (``track``, the engine's own index), and the face."""

    at: float
    track: int
    face: FaceDetail


@dataclass
class Analysis:
    """Everything one image yields, for the features asked for."""

    labels: list[Label] = field(default_factory=list)
    faces: list[FaceDetail] = field(default_factory=list)
    text: list[TextDetection] = field(default_factory=list)
    moderation: list[ModerationLabel] = field(default_factory=list)
    properties: ImageProperties | None = None
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage, where the engine says


class FaceStore(Protocol):
    """Read access to the enrolled faces of collections, for engines that keep no state."""

    def collection_version(self, collection_id: str) -> str:
        """A value that changes whenever faces are added to or removed from the collection."""

    def collection_embeddings(
        self, collection_id: str, *, engine: str, model_version: str
    ) -> tuple[list[str], list[str], np.ndarray]:
        """Face ids, the user (person) id of each, and their embeddings (an N×D float32 matrix), for the
        faces made by that engine and model."""

    def latest_change(self, collection_id: str) -> int:
        """A number that grows with every change to the collection's faces (0: none yet)."""

    def changed_since(self, collection_id: str, change: int) -> tuple[int, list[str]] | None:
        """The latest change, and the face ids added, changed or removed after ``change``; None when the
        log no longer goes back that far (the caller reloads)."""

    def faces(
        self, collection_id: str, face_ids: Sequence[str], *, engine: str, model_version: str
    ) -> tuple[list[str], list[str], np.ndarray]:
        """What ``collection_embeddings`` gives, for these faces only (those that still exist)."""

    def user_embeddings(self, collection_id: str, user_id: str, *, engine: str, model_version: str) -> np.ndarray:
        """One user's (person's) embeddings in the collection (a K×D matrix, K small): what a 1:1 check
        needs, read without loading the collection."""


@dataclass(frozen=True)
class Neighbour:
    """An enrolled face near a query: its id, its user's id ("" for no one's) and the cosine (-1..1)."""

    face_id: str
    user_id: str
    cosine: float


class FaceSearch(Protocol):
    """Nearest-neighbour search over a collection's enrolled embeddings, for engines that compute their own.

    Two kinds exist: an exact index held in each process and kept up to date from the face store's change
    log (``recognition.engines.index.CollectionIndexes``), and one the database answers itself (pgvector),
    which the application hands to the engine."""

    full_loads: int  # collections read whole so far by this process (0 for a search with no copy)

    def nearest(
        self, collection_id: str, query: np.ndarray, *, k: int, engine: str, model_version: str
    ) -> list[Neighbour]:
        """The ``k`` faces of that engine and model most like ``query``, nearest first."""


class BaseEngine:
    """Base class of recognition engines.

    Subclasses set ``name`` and ``model_version`` and implement what they support;
    whatever they leave out raises ``NotImplementedError`` naming the engine.
    """

    name = "base"
    model_version = "0"
    #: Whether ``track_faces_in_video`` works: the engine finds and follows faces in a video in its own storage.
    stored_video = False

    def __init__(
        self, *, face_store: FaceStore | None = None, face_search: FaceSearch | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS, **options: Any,
    ):  # fmt: skip
        self.face_store = face_store
        self.face_search = face_search  # used by engines that search embeddings themselves
        self.max_pixels = max_pixels  # the largest picture (width × height) the engine decodes
        self.options = options

    def _unsupported(self, what: str) -> NotImplementedError:
        return NotImplementedError(f"The {self.name!r} recognition engine does not support {what}.")

    def ready(self) -> None:
        """Raise ``EngineError`` unless the engine can answer a face check now: its models loaded (loading
        them if need be) or its service configured. Cheap once it has passed."""

    def preload(self) -> None:
        """Load now whatever any analysis may need (worker processes call this before their first task, so
        that image does not wait for models); nothing for engines that load nothing."""

    def track_faces_in_video(self, collection_id: str, location: S3Location) -> list[VideoFace]:
        """Every face in the stored video at ``location``, followed through it (engines with ``stored_video``)."""
        raise self._unsupported("track_faces_in_video")

    # Image analysis ----------------------------------------------------------

    def detect_labels(self, image: bytes, *, max_labels: int = 50, min_confidence: float = 55.0) -> list[Label]:
        raise self._unsupported("detect_labels")

    def detect_faces(self, image: bytes, *, attributes: bool = True) -> list[FaceDetail]:
        """Faces in the image, largest first; with embeddings where the engine computes them."""
        raise self._unsupported("detect_faces")

    def detect_text(self, image: bytes) -> list[TextDetection]:
        raise self._unsupported("detect_text")

    def detect_moderation_labels(self, image: bytes, *, min_confidence: float = 50.0) -> list[ModerationLabel]:
        raise self._unsupported("detect_moderation_labels")

    def detect_image_properties(self, image: bytes) -> ImageProperties:
        raise self._unsupported("detect_image_properties")

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
        """Run the requested features on one image.

        ``location`` says where the same bytes are stored in S3, for engines that can read them there;
        ``face_attributes`` off leaves the faces' attributes (age, gender, emotions…) unestimated.
        Engines that can share work between features (decoding once, reusing the faces for the Person
        label, one call for labels and properties) override this; the default calls each method.
        """
        result = Analysis()
        if "labels" in features:
            result.labels = self.detect_labels(image, min_confidence=min_label_confidence)
        if "faces" in features:
            result.faces = self.detect_faces(image, attributes=face_attributes)
        if "text" in features:
            result.text = self.detect_text(image)
        if "moderation" in features:
            result.moderation = self.detect_moderation_labels(image, min_confidence=min_moderation_confidence)
        if "properties" in features:
            result.properties = self.detect_image_properties(image)
        return result

    # Collections ------------------------------------------------------------------
    #
    # A collection holds reference faces; each belongs to a user (an enrolled person, whose id the
    # application chooses). Identification and verification search users, so a person with several
    # reference faces is matched on all of them.

    def create_collection(self, collection_id: str) -> bool:
        """Make sure the collection exists; True when this call created it (never, without server state)."""
        return False

    def delete_collection(self, collection_id: str) -> None:
        """Remove the collection and its faces from the engine (a no-op without server state)."""

    def index_faces(
        self,
        collection_id: str,
        image: bytes,
        *,
        external_image_id: str = "",
        max_faces: int = 1,
        location: S3Location | None = None,
    ) -> list[IndexedFace]:
        """Detect up to ``max_faces`` faces, largest first, and add them to the collection.

        Raises ``EngineError`` with the enrolment codes (``no_face``, ``face_too_small``...) when the
        engine refuses every face."""
        raise self._unsupported("index_faces")

    def delete_faces(self, collection_id: str, face_ids: Sequence[str]) -> None:
        """Remove faces from the collection (a no-op without server state)."""

    def associate_faces(self, collection_id: str, user_id: str, face_ids: Sequence[str]) -> None:
        """Make indexed faces the user's, creating the user if needed (a no-op without server state)."""

    def disassociate_faces(self, collection_id: str, user_id: str, face_ids: Sequence[str]) -> None:
        """Take faces away from a user, before they are deleted (a no-op without server state)."""

    def delete_user(self, collection_id: str, user_id: str) -> None:
        """Remove a user from the collection (a no-op without server state)."""

    def search_face(
        self, collection_id: str, image: bytes, face: FaceDetail, *, threshold: float = 80.0, max_matches: int = 10
    ) -> list[FaceMatch]:
        """Faces of the collection like one face already detected in ``image``, best first."""
        raise self._unsupported("search_face")

    def search_users(
        self, collection_id: str, image: bytes, face: FaceDetail, *, threshold: float = 80.0, max_users: int = 10
    ) -> list[UserMatch]:
        """Users of the collection like one face already detected in ``image``, best first."""
        raise self._unsupported("search_users")

    def user_similarity(self, collection_id: str, image: bytes, face: FaceDetail, user_id: str) -> float | None:
        """How alike one detected face is to a particular user (a badge holder), 0–100; ``None`` when the
        engine does not rank the user among the face's closest matches."""
        raise self._unsupported("user_similarity")

    def compare_faces(self, source: bytes, target: bytes, *, threshold: float = 80.0) -> CompareResult:
        """The largest face of ``source`` against every face of ``target``."""
        raise self._unsupported("compare_faces")
