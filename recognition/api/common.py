"""What the API's views share: parsers and documented error answers."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, UserRateThrottle

from recognition.api.serializers import ErrorSerializer

PARSERS = [MultiPartParser, FormParser, JSONParser]


class _UserRate(UserRateThrottle):
    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()


def throttled_as(scope: str) -> list[BaseThrottle]:
    """The per-user rate limit named ``scope`` (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES), counted in the
    shared cache so that it holds across processes; for views whose actions are limited differently."""
    return [_UserRate(scope)]


VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Bad input: a map of field names (or non_field_errors) to lists of messages, "
    'e.g. {"file": ["Image data is corrupt or truncated: ..."]}.',
)
ENGINE_UNAVAILABLE = OpenApiResponse(
    ErrorSerializer,
    description="The recognition engine is throttled or unreachable; try again after the Retry-After seconds.",
)


def uploaded_filename(request: Request) -> str:
    """The uploaded file's name as the client gave it (kept for people's reference, never trusted)."""
    upload = request.FILES.get("file")
    return (upload.name or "") if upload else ""
