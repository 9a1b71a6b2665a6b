"""Engines that misbehave on purpose, to test how the pipeline copes."""

from recognition.engines.base import EngineError
from recognition.engines.fake import FakeEngine
from recognition.models import Image


class UnreadableEngine(FakeEngine):
    def detect_labels(self, image, **kwargs):
        raise EngineError("The engine cannot read this image.")


class ThrottledEngine(FakeEngine):
    def detect_labels(self, image, **kwargs):
        raise EngineError("Rate exceeded", retryable=True)


class ThrottledFacesEngine(FakeEngine):
    """Throttled where a video's frames go: face detection."""

    def detect_faces(self, image, **kwargs):
        raise EngineError("Rate exceeded", retryable=True)


class CrashingEngine(FakeEngine):
    def detect_labels(self, image, **kwargs):
        raise ZeroDivisionError("division by zero")


class ReclaimedMidwayEngine(FakeEngine):
    """While it works, the sweeper hands the image to another worker (a new claim)."""

    def detect_labels(self, image, **kwargs):
        import uuid

        Image.objects.filter(status=Image.Status.PROCESSING).update(claim_token=uuid.uuid4())
        return super().detect_labels(image, **kwargs)


class UnreachableEngine(FakeEngine):
    """A cloud engine that cannot be reached just now: every call fails in a way a retry can fix."""

    def detect_faces(self, image, **kwargs):
        raise EngineError("Could not connect to the recognition service.", retryable=True)

    def compare_faces(self, source, target, **kwargs):
        raise EngineError("Rate exceeded", retryable=True)


class RefusingEngine(FakeEngine):
    """An engine that refuses an input for good, with its own reason."""

    def compare_faces(self, source, target, **kwargs):
        raise EngineError("Requested image should be at least 80 pixels wide.", code="invalid_parameter")


class ServerSideEngine(FakeEngine):
    """Stands in for an engine that keeps collections on its side (Rekognition): it remembers what it indexed."""

    indexed: dict[str, set[str]] = {}

    def index_faces(self, collection_id, image, **kwargs):
        faces = super().index_faces(collection_id, image, **kwargs)
        self.indexed.setdefault(collection_id, set()).update(f.face_id for f in faces)
        return faces

    def delete_faces(self, collection_id, face_ids):
        self.indexed.get(collection_id, set()).difference_update(face_ids)
