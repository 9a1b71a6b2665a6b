"""What the API's views share: parsers and documented error answers."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request

from recognition.api.serializers import ErrorSerializer

PARSERS = [MultiPartParser, FormParser, JSONParser]
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
