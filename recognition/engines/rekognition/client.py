"""The boto3 client the Rekognition engine talks through, and what its errors mean to Facesite.

One client per process and thread (boto3 clients are thread-safe, but sessions are not, and a client
per thread keeps connection pools apart), built on first use with botocore's standard retry mode and
the timeouts from the engine's options. Credentials come only from boto3's own chain (environment,
shared profile, instance or task role); ``AWS_ENDPOINT_URL_REKOGNITION`` points it elsewhere.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError, NoCredentialsError

from recognition.engines.base import CollectionMissingError, EngineError

# A passing condition: the same call can succeed later (botocore has already retried it).
RETRYABLE = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "InternalServerError",
    "ServiceUnavailableException",
    "ServiceUnavailable",
    "LimitExceededException",
}
# Permanent, with the code Facesite's API and the image's error report use.
PERMANENT = {
    "InvalidImageFormatException": ("invalid_image", "Amazon Rekognition cannot read this image format"),
    "ImageTooLargeException": ("image_too_large", "the image is too large for Amazon Rekognition"),
    "InvalidParameterException": ("invalid_parameter", "Amazon Rekognition rejected a parameter"),
    "AccessDeniedException": ("access_denied", "the AWS credentials may not use Amazon Rekognition"),
    "InvalidS3ObjectException": ("invalid_s3_object", "Amazon Rekognition cannot read the image from S3"),
    "ServiceQuotaExceededException": ("quota_exceeded", "an Amazon Rekognition quota is exhausted"),
}
NO_FACE_HINT = "no faces in the image"


@dataclass(frozen=True)
class ClientSettings:
    region: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 4  # botocore's count, the first call included

    def config(self) -> Config:
        return Config(
            region_name=self.region,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"mode": "standard", "max_attempts": self.max_attempts},
        )


class ClientPerThread:
    """Builds the client lazily, once per thread, from the settings it was given."""

    def __init__(self, settings: ClientSettings):
        self.settings = settings
        self._local = threading.local()

    def get(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            session = boto3.session.Session()
            client = session.client("rekognition", config=self.settings.config())
            self._local.client = client
        return client


@contextmanager
def aws_errors(*, collection_id: str | None = None) -> Iterator[None]:
    """Translate botocore's exceptions inside the block into ``EngineError``.

    A missing collection becomes ``CollectionMissingError`` so the application can rebuild it."""
    try:
        yield
    except ClientError as exc:
        raise translate(exc, collection_id=collection_id) from exc
    except NoCredentialsError as exc:
        raise EngineError(
            "No AWS credentials were found: set them in the environment, a profile or an instance role.",
            code="access_denied",
        ) from exc
    except (ConnectionError, HTTPClientError) as exc:
        raise EngineError(f"Amazon Rekognition could not be reached: {exc}", retryable=True) from exc
    except BotoCoreError as exc:
        raise EngineError(f"Calling Amazon Rekognition failed: {exc}") from exc


def translate(exc: ClientError, *, collection_id: str | None = None) -> EngineError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = str(error.get("Message", "")).strip()
    if code == "ResourceNotFoundException" and collection_id is not None:
        return CollectionMissingError(collection_id)
    if code in RETRYABLE:
        return EngineError(f"Amazon Rekognition is busy or failing ({code}): {message}", retryable=True)
    if code == "InvalidParameterException" and NO_FACE_HINT in message.lower():
        return EngineError("No face was found in the image.", code="no_face")
    ours, cause = PERMANENT.get(code, ("engine_error", "Amazon Rekognition refused the call"))
    return EngineError(f"{cause[:1].upper()}{cause[1:]} ({code}: {message}).", code=ours)


def error_code(exc: BaseException | None) -> str:
    """AWS's error code of a ``ClientError`` ('' for anything else)."""
    return str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""
