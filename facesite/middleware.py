"""Middleware of the project's own: refusing an oversized request body (413) from its declared length, before
anything reads it; a scope for each request's audit credential (``AuditCredentialMiddleware``); and a
Content Security Policy on every answer (``ContentSecurityPolicyMiddleware``).

Left alone, a JSON body is read whole into memory and a multipart file is written to disk in
full before any size check runs. Under WSGI a view gets no more of a body than its
Content-Length says, so the declared length is all there is to check.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from facesite.errors import API_PREFIX
from recognition.audit import request_credential_scope

#: Room for the other fields of a request beside its image.
FIELDS_ALLOWANCE = 64 * 1024


#: Where videos are uploaded (multipart only), with their own, larger limit.
VIDEO_PATHS = ("/api/videos/", "/admin/videos/")


def body_limit(path: str = "") -> int:
    """The largest request body accepted: the largest image as base64 in JSON (4/3 larger), and a few fields;
    where videos are uploaded, the largest video and a few fields."""
    if path.startswith(VIDEO_PATHS):
        return settings.FACESITE_VIDEO_MAX_BYTES + FIELDS_ALLOWANCE
    return math.ceil(settings.FACESITE_MAX_UPLOAD_BYTES * 4 / 3) + FIELDS_ALLOWANCE


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = str(request.META.get("CONTENT_LENGTH") or "")
        limit = body_limit(request.path)
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            return self.too_large(request, int(declared), limit)
        return self.get_response(request)

    @staticmethod
    def too_large(request: HttpRequest, size: int, limit: int) -> HttpResponse:
        kind, largest = (
            ("videos", settings.FACESITE_VIDEO_MAX_BYTES)
            if request.path.startswith(VIDEO_PATHS)
            else ("images", settings.FACESITE_MAX_UPLOAD_BYTES)
        )
        message = f"The request body is {size:,} bytes; the limit is {limit:,} bytes ({kind} up to {largest:,} bytes)."
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"detail": message, "code": "too_large"}, status=413)
        return HttpResponse(message, content_type="text/plain; charset=utf-8", status=413)


class AuditCredentialMiddleware:
    """Each request in its own credential scope, so a credential its authentication names for the audit rows
    (an API token) is named on this request's rows only, never on the next one the same thread answers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_credential_scope():
            return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """``FACESITE_CONTENT_SECURITY_POLICY`` on every answer that sets none of its own (an image's file sets a
    stricter one; under ``/api/``, ``FACESITE_API_CONTENT_SECURITY_POLICY``, which lets DRF's pages style
    inline): the pages hold people's faces, and scripts and styles come only from the site itself, so markup
    that slipped into a page (a name, a label) could run nothing, nor restyle the page to mislead."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        api = request.path.startswith("/api/")
        policy = settings.FACESITE_API_CONTENT_SECURITY_POLICY if api else settings.FACESITE_CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
