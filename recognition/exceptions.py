"""The application's errors: one type, a stable ``code`` for machines and a message for people.

Services raise these; the API's exception handler turns them into HTTP answers by
their kind (see ``recognition.api.errors``), so views hold no try/except blocks.
``retryable`` tells a caller whether trying the same thing later can help.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from recognition.engines.base import EngineError


class FacesiteError(Exception):
    """Something the caller asked for cannot be done; ``message`` says why, ``code`` names the case."""

    code = "error"
    retryable = False

    def __init__(self, message: str, *, code: str | None = None, retryable: bool | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if retryable is not None:
            self.retryable = retryable


class InvalidInput(FacesiteError):
    """The request itself is wrong (400). ``field`` names the input it concerns, when one does."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message, code=code)
        self.field = field


class ImageRejected(InvalidInput):
    """The bytes cannot be accepted as an image; nothing was stored."""

    code = "invalid_image"


class Unprocessable(FacesiteError):
    """Well-formed input that cannot be used for what was asked (422): no face, a blurry face..."""

    code = "unprocessable"


class EnrolmentError(Unprocessable):
    """A photo cannot become a reference face."""


class NotAllowed(FacesiteError):
    """The acting user lacks the permission this needs (403)."""

    code = "permission_denied"


class Conflict(FacesiteError):
    """The object is not in a state that allows this (409)."""

    code = "conflict"


class ReviewError(Conflict):
    """A review decision that does not apply to this face."""


class FileMissing(FacesiteError):
    """A row's stored file is not in storage (removed by hand, a volume or bucket lost or not restored) (404)."""

    code = "file_missing"


class StorageUnavailable(FacesiteError):
    """The file could not be written (a full or read-only disk, an unreachable S3): nothing was kept (503)."""

    code = "storage_unavailable"
    retryable = True


class EngineFailed(FacesiteError):
    """The recognition engine failed: retryable (throttled, unreachable; 503) or not (422, the engine's reason)."""

    code = "engine_error"

    @classmethod
    def from_engine(cls, exc: EngineError) -> EngineFailed:
        code = exc.code if exc.code != EngineError.code else ("engine_unavailable" if exc.retryable else cls.code)
        return cls(exc.message, code=code, retryable=exc.retryable)


@contextmanager
def engine_call() -> Iterator[None]:
    """Turn the engine's errors inside the block into the application's ``EngineFailed``."""
    try:
        yield
    except EngineError as exc:
        raise EngineFailed.from_engine(exc) from exc
