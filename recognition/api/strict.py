"""Input the API does not know is refused, not ignored.

DRF ignores query parameters and body fields it was not told about. For an integrator that turns a
misspelt filter (``?statuss=failed``) into a list of every image, and a misspelt field (``consent_given``
for ``consent_given_at``) into a person saved without it, both without a word. Here the first answers 400
``unknown_parameter`` and the second 400 with the field named, each listing what the operation takes.

Known query parameters are those the schema documents: ``format`` everywhere; on lists, the view's
filters, search, ordering and pages; and what an action reads itself (``action_query_params``). Known
fields are the serializer's own, read-only ones included, so a client may send back what it read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.settings import api_settings

#: The form field Django's CSRF protection adds to a browser's form (DRF's browsable API sends it).
CSRF_FIELD = "csrfmiddlewaretoken"
READS = ("GET", "HEAD")


class UnknownQueryParameter(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "unknown_parameter"


class KnownQueryParamsOnly:
    """View mixin: a query parameter the operation does not take is refused, after authentication and
    permissions, so a caller who may not use the operation learns nothing of it."""

    #: Query parameters an action reads itself, by action name (as documented with OpenApiParameter).
    action_query_params: ClassVar[Mapping[str, frozenset[str]]] = {}
    #: ``@action(detail=True, lists=True)`` for an action on one object that lists, filters and pages others.
    lists: bool | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if request.method == "OPTIONS" or not request.query_params:
            return
        known = self.known_query_params()
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            raise UnknownQueryParameter(
                f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
                f"This operation takes: {', '.join(sorted(known))}."
            )

    def known_query_params(self) -> set[str]:
        known = {api_settings.URL_FORMAT_OVERRIDE or "format"}
        known |= self.action_query_params.get(getattr(self, "action", None) or "", frozenset())
        if self.request.method in READS and self.lists_objects():  # type: ignore[attr-defined]
            known |= _listing_params(self)
        return known

    def lists_objects(self) -> bool:
        """Whether the operation is a list: a router's list route, or a detail route's action that says so."""
        return bool(self.lists) if self.lists is not None else getattr(self, "detail", None) is False


def _listing_params(view: Any) -> set[str]:
    """The parameters of ``view``'s filter backends and paginator (none for a plain APIView)."""
    names: set[str] = set()
    for backend_class in getattr(view, "filter_backends", ()):
        backend = backend_class()
        if isinstance(backend, DjangoFilterBackend):  # django-filter no longer describes its parameters
            filterset = backend.get_filterset_class(view, view.get_queryset())
            names |= set(filterset.base_filters) if filterset else set()
        else:
            names |= {param["name"] for param in backend.get_schema_operation_parameters(view)}
    paginator = getattr(view, "paginator", None)
    if paginator is not None:
        names |= {param["name"] for param in paginator.get_schema_operation_parameters(view)}
    return names


class KnownFieldsOnly(serializers.Serializer):
    """Serializer base: a field the serializer does not have is an error of its own, reported with any
    other errors of the same input."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = self._unknown_fields(data)
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value

    def _unknown_fields(self, data: Any) -> dict[str, list[str]]:
        if not isinstance(data, Mapping):
            return {}  # DRF's own "Invalid data" answers that
        unknown = [name for name in data if name not in self.fields and name != CSRF_FIELD]
        if not unknown:
            return {}  # every upload and check comes through here: no message made for nothing
        writable = ", ".join(name for name, field in self.fields.items() if not field.read_only)
        return {name: [f"Unknown field. This operation takes: {writable}."] for name in unknown}
