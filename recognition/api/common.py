"""What the API's views share: parsers and documented error answers."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, UserRateThrottle

from recognition.api.serializers import ErrorSerializer

PARSERS = [MultiPartParser, FormParser, JSONParser]


class Pagination(PageNumberPagination):
    """Pages of ``PAGE_SIZE`` (50); ``?page_size=`` asks for another size, up to 500."""

    page_size_query_param = "page_size"
    max_page_size = 500


class _UserRate(UserRateThrottle):
    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()


FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def flag(value: str) -> bool:
    """``true``, ``1`` or ``yes``; ``false``, ``0`` or ``no``, in any case. Anything else raises ValueError with
    the message to answer: the same for every yes-or-no query parameter, filters included."""
    try:
        return FLAGS[value.strip().lower()]
    except KeyError:
        raise ValueError(f"{value!r} is neither true nor false (true, 1, yes; false, 0, no).") from None


def query_flag(request: Request, name: str) -> bool:
    """A yes-or-no query parameter (``flag``); no when absent. Anything else is refused (400) naming it, rather
    than taken as no."""
    value = request.query_params.get(name)
    if value is None:
        return False
    try:
        return flag(value)
    except ValueError as error:
        raise ValidationError({name: [str(error)]}) from None


def throttled_as(scope: str) -> list[BaseThrottle]:
    """The per-user rate limit named ``scope`` (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES), counted in the
    shared cache so that it holds across processes; for views whose actions are limited differently."""
    return [_UserRate(scope)]


VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Bad input: a map of field names (or non_field_errors) to lists of messages.",
    examples=[
        OpenApiExample(
            "Not an image",
            value={"image_base64": ["Not a readable image: the data is not in any known image format."]},
            response_only=True,
            status_codes=["400"],
        ),
        OpenApiExample(
            "No image given",
            value={"non_field_errors": ["Send the image as file (multipart) or image_base64 (JSON)."]},
            response_only=True,
            status_codes=["400"],
        ),
    ],
)
ENGINE_UNAVAILABLE = OpenApiResponse(
    ErrorSerializer,
    description="The recognition engine is throttled or unreachable; try again after the Retry-After seconds.",
)


def uploaded_filename(request: Request) -> str:
    """The uploaded file's name as the client gave it (kept for people's reference, never trusted)."""
    upload = request.FILES.get("file")
    return (upload.name or "") if upload else ""
