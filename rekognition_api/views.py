"""The one endpoint, ``/rekognition``: verify the signature, run the operation, answer as AWS does."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import NoReturn

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from recognition.api.common import throttled_as
from recognition.audit import access_key_credential, acting_with, request_ip
from recognition.exceptions import Conflict, EngineFailed, FacesiteError, ImageRejected, NotAllowed
from recognition.lockouts import guessing
from rekognition_api.models import AccessKey
from rekognition_api.operations import OPERATIONS, rate_scope
from rekognition_api.operations.common import NO_FACE, Call
from rekognition_api.protocol import AwsError, answer, error_answer, new_request_id, operation_model, parse
from rekognition_api.sigv4 import check_signature, check_time, parse_authorization

logger = logging.getLogger(__name__)
DOCS = "docs/REKOGNITION-API.md"


@csrf_exempt
def rekognition(request: HttpRequest) -> HttpResponse:
    request_id = new_request_id()
    try:
        if request.method != "POST":
            raise AwsError("UnknownOperationException", "Rekognition requests are POSTed.")
        call = _authenticated(request)
        operation = operation_model(request.headers.get("X-Amz-Target", ""))
        handler = OPERATIONS.get(operation.name)
        if handler is None:
            raise AwsError(
                "UnsupportedOperationException",
                f"Facesite does not offer {operation.name}; the operations it answers are listed in {DOCS}.",
            )
        _throttle(request, call, rate_scope(operation.name))
        # The key, not only its user, on every audit row: an administrator may have created it for them.
        with acting_with(access_key_credential(call.access_key_id)):
            result = handler(call, parse(operation, request.body))
        return answer(result, request_id=request_id)
    except AwsError as exc:
        return error_answer(exc, request_id=request_id)
    except FacesiteError as exc:
        return error_answer(as_aws_error(exc), request_id=request_id)
    except Exception:
        logger.exception("Rekognition-compatible request %s failed", request_id)
        error = AwsError("InternalServerError", "Internal server error; the request id is in the logs.", status=500)
        return error_answer(error, request_id=request_id)


def _authenticated(request: HttpRequest) -> Call:
    signed = parse_authorization(request)
    key = (
        AccessKey.objects.filter(access_key_id=signed.access_key_id, is_active=True, user__is_active=True)
        .select_related("user")
        .first()
    )
    if key is None:
        _guessed(
            request, AwsError("UnrecognizedClientException", "The security token included in the request is invalid.")
        )
    check_time(signed)
    try:
        check_signature(request, signed, secret=key.secret)
    except AwsError as exc:
        _guessed(request, exc)
    AccessKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return Call(user=key.user, client_ip=request_ip(request), region=signed.region, access_key_id=key.access_key_id)


def _guessed(request: HttpRequest, error: AwsError) -> NoReturn:
    """An unknown access key or a wrong signature: ``error``, or ``ThrottlingException`` once the address is
    guessing (``recognition.lockouts.guessing``), as unknown API tokens answer 429."""
    if guessing("sigv4", request_ip(request)):
        raise AwsError("ThrottlingException", "Too many unknown access keys or wrong signatures from here; "
                       f"try again in {settings.FACESITE_LOCKOUT_SECONDS // 60 or 1} minutes.") from error  # fmt: skip
    raise error


def _throttle(request: HttpRequest, call: Call, scope: str) -> None:
    """The REST API's per-user rate for ``scope``, counted in the same shared cache."""
    [limit] = throttled_as(scope)
    if not limit.allow_request(SimpleNamespace(user=call.user, META=request.META), None):  # type: ignore[arg-type]
        raise AwsError("ThrottlingException", f"Rate exceeded; try again in {limit.wait() or 1:.0f} s.")


def as_aws_error(exc: FacesiteError) -> AwsError:
    """The application's errors as the AWS error a Rekognition client expects for the same fault."""
    if isinstance(exc, EngineFailed):
        if exc.retryable:
            return AwsError("ThrottlingException", f"The recognition engine is busy; retry later. ({exc.message})")
        if exc.code == "no_face":
            return AwsError("InvalidParameterException", NO_FACE)
        if exc.code == "image_too_large":
            return AwsError("ImageTooLargeException", exc.message)
        if exc.code == "invalid_image":
            return AwsError("InvalidImageFormatException", exc.message)
        return AwsError("InvalidParameterException", exc.message)
    if isinstance(exc, ImageRejected):
        kind = (
            "ImageTooLargeException" if exc.code in ("too_large", "too_many_pixels") else "InvalidImageFormatException"
        )
        return AwsError(kind, exc.message)
    if isinstance(exc, NotAllowed):
        return AwsError("AccessDeniedException", exc.message)
    if isinstance(exc, Conflict):
        return AwsError("ConflictException", exc.message)
    return AwsError("InvalidParameterException", exc.message)
