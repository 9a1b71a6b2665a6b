from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from integrations.models import Delivery, DeliveryAttempt
from integrations.services.upkeep import delivery_resend
from recognition.api.permissions import ModelPermissions, require
from recognition.api.serializers import ErrorSerializer


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "started_at", "finished_at", "outcome", "status_code", "error", "replay"]


class DeliverySerializer(serializers.ModelSerializer):
    endpoint = serializers.CharField(source="endpoint.name")
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id", "endpoint", "event", "image", "idempotency_key", "status", "attempts", "next_attempt_at",
            "last_status_code", "last_response_excerpt", "last_error", "created_at", "delivered_at", "attempt_log",
        ]  # fmt: skip
        read_only_fields = fields


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Deliveries of events to third-party endpoints, with their attempts."""

    serializer_class = DeliverySerializer
    permission_classes = [ModelPermissions]
    queryset = Delivery.objects.all()
    filterset_fields = ["status", "event", "endpoint", "image"]

    def get_queryset(self):
        return Delivery.objects.select_related("endpoint").prefetch_related("attempt_log").order_by("-created_at")

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
        delivery_resend(delivery=delivery)
        return Response(
            self.get_serializer(self.get_queryset().get(pk=delivery.pk)).data, status=status.HTTP_202_ACCEPTED
        )


router = DefaultRouter()
router.register("deliveries", DeliveryViewSet, basename="delivery")
urlpatterns = router.urls
