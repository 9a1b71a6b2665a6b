"""Reading an object from S3 (AWS, or a compatible server) with Facesite's own credentials, as the URL fetcher
reads from the web: within a size limit, a megabyte at a time, and S3's refusals and failures as
``FetchRefused`` (``retryable`` when trying later may help).

Which buckets a caller may name is the caller's decision (the Rekognition-compatible API's
``FACESITE_REKOGNITION_API_S3_BUCKETS``): these functions read whatever they are given.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from recognition.fetch import FetchRefused, copy_limited

CHUNK = 1024 * 1024
#: S3's answers that no later try changes: the object, its version or its bucket is not there, or not ours.
FINAL = {"403", "404", "AccessDenied", "NoSuchBucket", "NoSuchKey", "NoSuchVersion", "InvalidArgument"}


def is_s3(text: str) -> bool:
    """Whether ``text`` names an object in S3 (``s3://bucket/key``), not a path or an http(s) URL."""
    return text.startswith("s3://")


@dataclass(frozen=True)
class S3Object:
    """An object as Rekognition's ``S3Object`` names it: bucket, key and, optionally, version."""

    bucket: str
    key: str
    version: str = ""

    @classmethod
    def from_param(cls, param: dict[str, Any]) -> S3Object:
        return cls(bucket=param.get("Bucket", ""), key=param.get("Name", ""), version=param.get("Version", ""))

    def as_param(self) -> dict[str, str]:
        """As Rekognition's ``S3Object`` names it (``from_param`` reads it back)."""
        return {"Bucket": self.bucket, "Name": self.key, **({"Version": self.version} if self.version else {})}

    @classmethod
    def from_url(cls, url: str) -> S3Object:
        """From ``url`` (``s3://bucket/key``, the version as ``?versionId=``)."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"Not an s3:// URL: {url}")
        version = parse_qs(parts.query).get("versionId", [""])[0]
        return cls(bucket=parts.netloc, key=unquote(parts.path[1:]), version=version)

    @classmethod
    def named(cls, text: str) -> S3Object:
        """From ``s3://bucket/key`` as people write it (and the AWS CLI takes it): the key read as written."""
        bucket, _, key = text.removeprefix("s3://").partition("/")
        return cls(bucket=bucket, key=key)

    def __str__(self) -> str:
        """``s3://bucket/key`` as people write it (``named`` reads it back; ``url`` is quoted)."""
        return f"s3://{self.bucket}/{self.key}"

    @property
    def url(self) -> str:
        """``s3://bucket/key`` (the key quoted), with ``?versionId=`` for a version: how a video's source names it."""
        version = f"?versionId={quote(self.version, safe='')}" if self.version else ""
        return f"s3://{self.bucket}/{quote(self.key, safe='/')}{version}"

    @property
    def name(self) -> str:
        """The key's last part: the file's name."""
        return self.key.rsplit("/", 1)[-1]


def s3_size(found: S3Object) -> int:
    """The object's size in bytes, asked of S3 without reading it (``HeadObject``)."""
    with _s3_refusals(found):
        head = _client().head_object(Bucket=found.bucket, Key=found.key, **_version(found))
    return int(head["ContentLength"])


def s3_listed(prefix: S3Object) -> Iterator[S3Object]:
    """Every object whose key begins with ``prefix``'s, in key order (as S3 lists them), a page at a time."""
    with _s3_refusals(prefix):
        for page in _client().get_paginator("list_objects_v2").paginate(Bucket=prefix.bucket, Prefix=prefix.key):
            for entry in page.get("Contents", []):
                yield S3Object(bucket=prefix.bucket, key=entry["Key"])


def s3_bytes(found: S3Object, *, limit: int) -> bytes:
    """The object's bytes, at most ``limit`` of them (``TooLarge`` past it)."""
    body = io.BytesIO()
    s3_to_file(found, body, limit=limit)
    return body.getvalue()


def s3_to_file(found: S3Object, sink: IO[bytes], *, limit: int, timeout: float | None = None) -> int:
    """Copy the object into ``sink`` a megabyte at a time; its size. ``TooLarge`` as soon as it passes
    ``limit`` bytes, before the chunk that passes it is written; ``FetchRefused`` (passing) once reading it
    has taken longer than ``timeout`` seconds, however slowly S3 sends."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with _s3_refusals(found):
        body = _client().get_object(Bucket=found.bucket, Key=found.key, **_version(found))["Body"]
        try:
            return copy_limited(_until(deadline, body.iter_chunks(CHUNK), found, timeout), sink, limit)
        finally:
            body.close()


def _until(deadline: float | None, chunks: Iterator[bytes], found: S3Object, timeout: float | None) -> Iterator[bytes]:
    for chunk in chunks:
        if deadline is not None and time.monotonic() > deadline:
            raise FetchRefused(f"Reading {found.url} from S3 took longer than {timeout:g} s.", retryable=True)
        yield chunk


def _client() -> Any:
    options = settings.REKOGNITION_API_S3
    return boto3.session.Session().client("s3", **{key: value for key, value in options.items() if value})


def _version(found: S3Object) -> dict[str, str]:
    return {"VersionId": found.version} if found.version else {}


@contextmanager
def _s3_refusals(found: S3Object) -> Iterator[None]:
    """S3's errors as ``FetchRefused``: the object's absence or a denial for good; the rest (S3 down,
    throttling, a connection lost) as passing."""
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        raise FetchRefused(f"S3 refused {found.url}: {exc}", retryable=code not in FINAL) from exc
    except BotoCoreError as exc:
        raise FetchRefused(f"S3 could not be read for {found.url}: {exc}", retryable=True) from exc
