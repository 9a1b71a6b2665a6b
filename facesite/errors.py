"""Error pages: under ``/api/`` they are JSON, as the API's own errors are, so a client that reads
``code`` reads it from every answer; elsewhere they are Django's.

A path that no API view answers gets ``{"detail": "Not found.", "code": "not_found"}``, and a failure no
handler expected gets ``{"detail": ..., "code": "server_error", "request_id": ...}``: the id the logs
record the failure under (and the ``X-Request-ID`` header carries), for the client to quote.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from facesite.logs import current_request_id

API_PREFIX = "/api/"


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        request_id = current_request_id()
        return JsonResponse(
            {
                "detail": f"The server failed to answer; it is logged under request id {request_id}.",
                "code": "server_error",
                "request_id": request_id,
            },
            status=500,
        )
    return defaults.server_error(request)
