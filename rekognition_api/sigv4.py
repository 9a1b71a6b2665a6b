"""Verifying AWS Signature Version 4 on incoming requests.

The expected signature is computed by botocore's own signer (``SigV4Auth``) over the request as
received, with the headers the client says it signed and its timestamp, then compared in constant
time; nothing of the hashing is written here. Failures answer the errors AWS answers.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.http import HttpRequest

from rekognition_api.protocol import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "rekognition"
ALLOWED_SKEW = timedelta(minutes=5)  # as AWS allows
AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9\-;]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
TIMESTAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class SignedRequest:
    access_key_id: str
    region: str
    date: str
    timestamp: str
    signed_headers: list[str]
    signature: str


def parse_authorization(request: HttpRequest) -> SignedRequest:
    header = request.headers.get("Authorization", "")
    if not header:
        raise AwsError("MissingAuthenticationTokenException", "Missing Authentication Token", status=403)
    match = AUTHORIZATION.match(header.strip())
    if match is None or match["service"] != SERVICE:
        raise AwsError(
            "IncompleteSignatureException",
            "Authorization header requires a Credential, SignedHeaders and Signature for the rekognition service "
            "(AWS4-HMAC-SHA256).",
        )
    timestamp = request.headers.get("X-Amz-Date", "")
    if not timestamp:
        raise AwsError("IncompleteSignatureException", "The request must carry an X-Amz-Date header.")
    return SignedRequest(
        access_key_id=match["key"],
        region=match["region"],
        date=match["date"],
        timestamp=timestamp,
        signed_headers=match["headers"].split(";"),
        signature=match["signature"],
    )


def check_time(signed: SignedRequest, *, now: datetime | None = None) -> None:
    """Refuse a request signed too long ago or too far ahead (a replay, or a clock far off)."""
    now = now or datetime.now(UTC)
    try:
        signed_at = datetime.strptime(signed.timestamp, TIMESTAMP).replace(tzinfo=UTC)
    except ValueError as exc:
        raise AwsError("IncompleteSignatureException", f"X-Amz-Date {signed.timestamp!r} is not a date.") from exc
    if signed.date != signed.timestamp[:8]:
        raise AwsError("InvalidSignatureException", "The credential scope's date is not the X-Amz-Date's date.")
    if signed_at < now - ALLOWED_SKEW:
        raise AwsError(
            "InvalidSignatureException",
            f"Signature expired: {signed.timestamp} is now earlier than {(now - ALLOWED_SKEW):{TIMESTAMP}} "
            f"({now:{TIMESTAMP}} - 5 min.)",
        )
    if signed_at > now + ALLOWED_SKEW:
        raise AwsError(
            "InvalidSignatureException",
            f"Signature not yet current: {signed.timestamp} is still later than {(now + ALLOWED_SKEW):{TIMESTAMP}} "
            f"({now:{TIMESTAMP}} + 5 min.)",
        )


def check_signature(request: HttpRequest, signed: SignedRequest, *, secret: str) -> None:
    if "host" not in signed.signed_headers:
        raise AwsError("InvalidSignatureException", "The Host header must be signed.")
    headers = {name: request.headers.get(name, "") for name in signed.signed_headers}
    received = AWSRequest(
        method=request.method, url=f"http://{request.get_host()}{request.path}", data=request.body, headers=headers
    )
    received.context["timestamp"] = signed.timestamp
    signer = SigV4Auth(Credentials(signed.access_key_id, secret), SERVICE, signed.region)
    canonical = signer.canonical_request(received)
    expected = signer.signature(signer.string_to_sign(received, canonical), received)
    if not hmac.compare_digest(expected, signed.signature):
        raise AwsError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method.",
        )
