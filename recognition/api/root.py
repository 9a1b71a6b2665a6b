"""``/api/``: every endpoint of the API, so a newcomer can find them from one place."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recognition.api.strict import KnownQueryParamsOnly

ENDPOINTS = {
    "images": "image-list",
    "people": "person-list",
    "collections": "collection-list",
    "exports": "person-export-list",
    "search": "search",
    "verify": "verify",
    "compare": "compare",
    "deliveries": "delivery-list",
    "videos": "video-list",
    "cameras": "camera-list",
    "audit-events": "audit-event-list",
    "schema": "schema",
    "docs": "docs",
    "rekognition": "rekognition",
}


class ApiRoot(KnownQueryParamsOnly, APIView):
    """Every endpoint of the API, by name."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}}})
    def get(self, request: Request) -> Response:
        return Response({name: request.build_absolute_uri(reverse(route)) for name, route in ENDPOINTS.items()})
