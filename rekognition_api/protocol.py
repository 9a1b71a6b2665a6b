"""Rekognition's wire protocol: AWS JSON 1.1 over POST, the operation named in ``X-Amz-Target``.

Requests are checked against botocore's Rekognition service model (names, types, lengths, ranges,
required members) and refused as AWS refuses them; answers and errors are shaped as the model and the
AWS API reference define them: errors carry their type in ``__type`` and the ``x-amzn-ErrorType``
header, every answer an ``x-amzn-RequestId``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator
from django.http import HttpResponse

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "RekognitionService."


class AwsError(Exception):
    """An error as AWS answers it: its type (``__type``), a message and the HTTP status."""

    def __init__(self, error_type: str, message: str, *, status: int = 400):
        super().__init__(message)
        self.error_type, self.message, self.status = error_type, message, status


def invalid_parameter(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


@cache
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("rekognition")


def operation_model(target: str) -> OperationModel:
    """The operation an ``X-Amz-Target`` header names; an unknown one is refused as AWS refuses it."""
    if not target.startswith(TARGET_PREFIX):
        raise AwsError("UnknownOperationException", "The X-Amz-Target header names no Rekognition operation.")
    name = target[len(TARGET_PREFIX) :]
    if name not in service_model().operation_names:
        raise AwsError("UnknownOperationException", f"Unknown operation {name!r}.")
    return service_model().operation_model(name)


def parse(operation: OperationModel, body: bytes) -> dict[str, Any]:
    """The request's parameters, blobs decoded, checked against the operation's input shape."""
    try:
        raw = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise AwsError("SerializationException", f"The request body is not JSON: {exc}.") from exc
    if not isinstance(raw, dict):
        raise AwsError("SerializationException", "The request body must be a JSON object.")
    params = _decode(raw, operation.input_shape)
    report = ParamValidator().validate(params, operation.input_shape)
    if report.has_errors():
        raise AwsError("ValidationException", report.generate_report().replace("\n", " ").strip())
    mismatched = _constraint_errors(params, operation.input_shape)
    if mismatched:
        raise AwsError("ValidationException", "; ".join(mismatched))
    return params


def _constraint_errors(value: Any, shape: Shape | None, path: str = "") -> list[str]:
    """Strings outside their shape's enum or pattern (botocore's own validator leaves both to the service)."""
    if shape is None:
        return []
    if shape.type_name == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        return [e for key, item in value.items() for e in _constraint_errors(item, members.get(key), f"{path}.{key}")]
    if shape.type_name == "list" and isinstance(value, list):
        return [e for item in value for e in _constraint_errors(item, shape.member, path)]  # type: ignore[attr-defined]
    if shape.type_name != "string" or not isinstance(value, str):
        return []
    where = f"Value {value!r} at '{path.lstrip('.')}' failed to satisfy constraint"
    allowed = getattr(shape, "enum", None)
    if allowed and value not in allowed:
        return [f"{where}: Member must satisfy enum value set: [{', '.join(allowed)}]"]
    pattern = shape.metadata.get("pattern")
    if pattern and not _matches(pattern, value):
        return [f"{where}: must match {pattern}"]
    return []


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None  # a Java-only construct: leave the value to the operation's own checks


def _matches(pattern: str, value: str) -> bool:
    compiled = _compiled(pattern)
    return compiled is None or compiled.fullmatch(value) is not None


def _decode(value: Any, shape: Shape | None) -> Any:
    """JSON values as botocore's validator expects them: base64 blobs as bytes, unknown members kept so
    the validator names them."""
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        return {key: _decode(item, members.get(key)) for key, item in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_decode(item, shape.member) for item in value]  # type: ignore[attr-defined]
    if shape.type_name == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise AwsError("SerializationException", "A blob member is not valid base64.") from exc
    return value


def answer(body: dict[str, Any], *, request_id: str) -> HttpResponse:
    response = HttpResponse(json.dumps(body, default=_json_default), content_type=CONTENT_TYPE)
    response["x-amzn-RequestId"] = request_id
    return response


def error_answer(error: AwsError, *, request_id: str) -> HttpResponse:
    body = {"__type": error.error_type, "Message": error.message, "Code": error.error_type}
    response = HttpResponse(json.dumps(body), content_type=CONTENT_TYPE, status=error.status)
    response["x-amzn-RequestId"] = request_id
    response["x-amzn-ErrorType"] = f"{error.error_type}:"
    return response


def new_request_id() -> str:
    return str(uuid.uuid4())


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()  # JSON 1.1 timestamps: seconds since the epoch
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
