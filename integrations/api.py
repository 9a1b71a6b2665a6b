import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from integrations.models import Delivery, DeliveryAttempt
from integrations.services.upkeep import delivery_resend
from recognition.api.permissions import ModelPermissions, require
from recognition.api.serializers import ErrorSerializer
from recognition.api.strict import KnownQueryParamsOnly
from recognition.audit import audit_list, audit_request, request_ip
from recognition.models import AuditEvent


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "started_at", "finished_at", "outcome", "status_code", "error", "replay"]
        extra_kwargs = {
            "number": {"help_text": "1 for the first try."},
            "started_at": {"help_text": "When the POST began."},
            "finished_at": {"help_text": "When it ended; null if the worker was lost meanwhile."},
            "outcome": {"help_text": "The delivery's status after this try: delivered, retrying or dead."},
            "status_code": {"help_text": "The endpoint's HTTP status; null when it gave none."},
            "error": {"help_text": "Why the try failed, in words."},
        }


class DeliverySerializer(serializers.ModelSerializer):
    endpoint = serializers.CharField(source="endpoint.name", help_text="The endpoint's name.")
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True, help_text="Each try, first first.")

    class Meta:
        model = Delivery
        fields = [
            "id", "endpoint", "event", "image", "idempotency_key", "status", "attempts", "next_attempt_at",
            "last_status_code", "last_response_excerpt", "last_error", "created_at", "delivered_at", "attempt_log",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "image": {"help_text": "The image whose results it sends; null for events about no image."},
            "attempts": {"help_text": "Tries so far."},
            "next_attempt_at": {"help_text": "When it is tried again, while retrying."},
            "last_status_code": {"help_text": "The endpoint's HTTP status at the last try."},
            "last_response_excerpt": {"help_text": "The start of the endpoint's last answer (for those who may "
                                                   "resend deliveries only)."},
            "last_error": {"help_text": "Why the last try failed; empty once delivered."},
            "delivered_at": {"help_text": "When the endpoint took it; null until then."},
        }  # fmt: skip


class DeliveryWithoutExcerptSerializer(DeliverySerializer):
    class Meta(DeliverySerializer.Meta):
        fields = [f for f in DeliverySerializer.Meta.fields if f != "last_response_excerpt"]
        read_only_fields = fields


class DeliveryFilter(django_filters.FilterSet):
    endpoint = django_filters.CharFilter(
        field_name="endpoint__name", help_text="Deliveries to this endpoint (its name, as deliveries show it)."
    )
    image = django_filters.UUIDFilter(help_text="Deliveries of this image's results.")

    class Meta:
        model = Delivery
        fields = ["status", "event"]


class DeliveryViewSet(KnownQueryParamsOnly, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Deliveries of events to third-party endpoints, with their attempts."""

    serializer_class = DeliverySerializer
    permission_classes = [ModelPermissions]
    queryset = Delivery.objects.all()
    filterset_class = DeliveryFilter

    def get_queryset(self):
        return Delivery.objects.select_related("endpoint").prefetch_related("attempt_log").order_by("-created_at")

    def get_serializer_class(self):
        # Receivers' answers can carry anything: only those who look after deliveries (may resend) read them.
        if self.request.user.has_perm("integrations.resend_delivery"):
            return DeliverySerializer
        return DeliveryWithoutExcerptSerializer

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        audit_list(request, AuditEvent.Action.DELIVERY_LIST)
        return response

    def retrieve(self, request, *args, **kwargs):
        delivery = self.get_object()
        audit_request(request, AuditEvent.Action.DELIVERY_VIEW, delivery)
        return Response(self.get_serializer(delivery).data)

    @extend_schema(
        request=None,
        responses={
            202: DeliverySerializer,
            409: ErrorSerializer,
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[require("integrations.resend_delivery")])
    def resend(self, request, pk=None):
        """Send a delivered or dead delivery again, with the same idempotency key."""
        delivery = self.get_object()
        delivery_resend(delivery=delivery, actor=request.user, client_ip=request_ip(request))
        return Response(
            self.get_serializer(self.get_queryset().get(pk=delivery.pk)).data, status=status.HTTP_202_ACCEPTED
        )


router = SimpleRouter()
router.register("deliveries", DeliveryViewSet, basename="delivery")
urlpatterns = router.urls
