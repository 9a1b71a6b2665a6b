"""One place that turns the application's errors into HTTP answers (REST_FRAMEWORK's EXCEPTION_HANDLER).

| error                                   | status | body                                      |
| --------------------------------------- | ------ | ----------------------------------------- |
| ``InvalidInput`` naming a field         | 400    | ``{"<field>": ["message"]}`` (as DRF's)   |
| other ``InvalidInput``                  | 400    | ``{"detail": "message", "code": "..."}``  |
| ``NotAllowed``                          | 403    | ``{"detail", "code"}``                    |
| ``FileMissing``                         | 404    | ``{"detail", "code"}``                    |
| ``Conflict``                            | 409    | ``{"detail", "code"}``                    |
| ``Unprocessable``; ``EngineFailed`` that a retry cannot fix | 422 | ``{"detail", "code"}`` |
| anything ``retryable`` (a throttled or unreachable engine) | 503 | ``{"detail", "code"}`` and ``Retry-After`` |

Everything else goes to DRF's own handler, including its throttles' 429 with ``Retry-After``; where its
answer is one ``detail``, the error's code is added beside it (``not_authenticated``,
``authentication_failed``, ``permission_denied``, ``not_found``, ``method_not_allowed``,
``unsupported_media_type``, ``parse_error``, ``throttled``), so every error a client meets has a ``code``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from recognition.exceptions import Conflict, FacesiteError, FileMissing, InvalidInput, NotAllowed

#: Seconds a client should wait before trying again after a passing failure.
RETRY_AFTER_SECONDS = 5

_STATUS_BY_KIND: list[tuple[type[FacesiteError], int]] = [
    (InvalidInput, status.HTTP_400_BAD_REQUEST),
    (NotAllowed, status.HTTP_403_FORBIDDEN),
    (FileMissing, status.HTTP_404_NOT_FOUND),
    (Conflict, status.HTTP_409_CONFLICT),
    # Unprocessable, EngineFailed that a retry cannot fix, and any other refusal: 422.
]


def status_for(error: FacesiteError) -> int:
    if error.retryable:
        return status.HTTP_503_SERVICE_UNAVAILABLE
    for kind, code in _STATUS_BY_KIND:
        if isinstance(error, kind):
            return code
    return status.HTTP_422_UNPROCESSABLE_ENTITY  # refused for a reason of the application's own


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if not isinstance(exc, FacesiteError):
        return _with_code(exc, drf_exception_handler(exc, context))
    field = getattr(exc, "field", None)
    body: dict[str, Any] = {field: [exc.message]} if field else {"detail": exc.message, "code": exc.code}
    response = Response(body, status=status_for(exc))
    if response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _with_code(exc: Exception, response: Response | None) -> Response | None:
    if response is None or not isinstance(response.data, dict) or set(response.data) != {"detail"}:
        return response
    if isinstance(exc, Http404):
        code = exceptions.NotFound.default_code
    elif isinstance(exc, PermissionDenied):
        code = exceptions.PermissionDenied.default_code
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
    else:
        return response
    response.data = {**response.data, "code": code}
    return response
