"""The synchronous checks people wait on: search, verify (badge + face) and compare."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from recognition.api import examples
from recognition.api import serializers as s
from recognition.api.common import ENGINE_UNAVAILABLE, PARSERS, VALIDATION_ERROR
from recognition.api.permissions import require
from recognition.api.strict import KnownQueryParamsOnly
from recognition.audit import request_ip
from recognition.services.access import SEARCH
from recognition.services.collections import collection_named
from recognition.services.matching import faces_compare, faces_search, person_verify


class CheckView(KnownQueryParamsOnly, APIView):
    parser_classes = PARSERS
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "sync"
    permission_classes: list[type[BasePermission]]

    def validated(self, serializer_class: type[Serializer]) -> dict[str, Any]:
        """The request's input, checked by ``serializer_class`` (400 with field messages otherwise)."""
        data = serializer_class(data=self.request.data)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)


class SearchView(CheckView):
    permission_classes = [require(SEARCH)]

    @extend_schema(
        request={"multipart/form-data": s.SearchSerializer, "application/json": s.SearchSerializer},
        examples=examples.SEARCH,
        responses={200: s.SearchResultSerializer, 400: VALIDATION_ERROR, 503: ENGINE_UNAVAILABLE},
    )
    def post(self, request: Request) -> Response:
        """Find every face in the image and the enrolled people it matches (synchronous)."""
        params = self.validated(s.SearchSerializer)
        faces = faces_search(
            data=params["image"],
            collection=collection_named(name=params.get("collection")),
            threshold=params["threshold"],
            max_matches=params["max_matches"],
            actor=request.user,
            client_ip=request_ip(request),
        )
        return Response(s.SearchResultSerializer({"threshold": params["threshold"], "faces": faces}).data)


class VerifyView(CheckView):
    permission_classes = [require("recognition.verify_person")]

    @extend_schema(
        request={"multipart/form-data": s.VerifySerializer, "application/json": s.VerifySerializer},
        examples=examples.VERIFY,
        responses={200: s.VerificationSerializer, 400: VALIDATION_ERROR, 503: ENGINE_UNAVAILABLE},
    )
    def post(self, request: Request) -> Response:
        """Badge + face: is the person in the photo the holder of this badge? Every call is recorded."""
        params = self.validated(s.VerifySerializer)
        verification = person_verify(
            external_id=params["external_id"].strip(),
            data=params["image"],
            threshold=params["threshold"],
            actor=request.user,
            client_ip=request_ip(request),
        )
        return Response(s.VerificationSerializer(verification).data)


class CompareView(CheckView):
    permission_classes = [require(SEARCH)]

    @extend_schema(
        request={"multipart/form-data": s.CompareSerializer, "application/json": s.CompareSerializer},
        examples=examples.COMPARE,
        responses={
            200: s.ComparisonSerializer,
            400: VALIDATION_ERROR,
            422: s.ErrorSerializer,
            503: ENGINE_UNAVAILABLE,
        },
    )
    def post(self, request: Request) -> Response:
        """Similarity of the largest face in `source` to each face in `target`; 422 when `source` has no face."""
        params = self.validated(s.CompareSerializer)
        comparison = faces_compare(
            source=params["source"], target=params["target"], threshold=params["threshold"],
            actor=request.user, client_ip=request_ip(request),
        )  # fmt: skip
        return Response(s.ComparisonSerializer(comparison).data)
