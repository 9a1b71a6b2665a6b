"""The audit trail, read-only, for the security team's tools (a SIEM pulls what is new with ``?after=<id>``)."""

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, mixins, viewsets

from recognition.api import serializers as s
from recognition.api.filters import AuditEventFilter
from recognition.api.permissions import require
from recognition.api.strict import KnownQueryParamsOnly
from recognition.models import AuditEvent


class AuditEventViewSet(KnownQueryParamsOnly, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):  # fmt: skip
    """Who did what to biometric data, who signed in, and who looked at what: newest first, or in the order
    they happened with ``ordering=id``. A read repeated within minutes is counted on its first event
    (``repeats``, ``last_at``) rather than added as a new one."""

    permission_classes = [require("recognition.view_auditevent")]
    serializer_class = s.AuditEventSerializer
    filterset_class = AuditEventFilter
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    ordering_fields = ["id", "created_at"]

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return AuditEvent.objects.order_by("-created_at", "-id")
