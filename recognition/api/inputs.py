"""Reading an image from a request: a multipart file or base64 in JSON, size-checked before decoding,
then checked as an image once, so the service that gets it does not decode it again."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from recognition.exceptions import ImageRejected
from recognition.validation import CheckedImage, check_size, checked


class ImageField(serializers.Field):
    """Accepts an uploaded file (multipart) or a base64 string (JSON); gives a ``CheckedImage``."""

    default_error_messages = {
        "invalid": "Send an image file (multipart) or a base64 string (JSON).",
        "base64": "Not valid base64: {reason}.",
    }

    def to_internal_value(self, data: Any) -> CheckedImage:
        try:
            return checked(self._read(data))
        except ImageRejected as exc:
            raise ValidationError(exc.message, code=exc.code) from exc

    def _read(self, data: Any) -> bytes:
        if hasattr(data, "read") and hasattr(data, "size"):
            check_size(data.size)  # before reading a byte of it
            return data.read()
        if isinstance(data, str):
            text = data.strip()
            if text.startswith("data:") and "," in text:
                text = text.split(",", 1)[1]  # data URLs: data:image/jpeg;base64,...
            check_size(len(text) * 3 // 4)
            try:
                return base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError) as exc:
                self.fail("base64", reason=str(exc).rstrip("."))
        self.fail("invalid")

    def to_representation(self, value: Any) -> None:  # pragma: no cover - input only
        return None


class FeaturesField(serializers.MultipleChoiceField):
    """A list of analyses: a JSON list, repeated form fields, or one comma-separated string (``labels,faces``,
    as the import commands take them)."""

    def to_internal_value(self, data: Any) -> Any:
        items = [data] if isinstance(data, str) else data
        if isinstance(items, list | tuple):
            data = [part for item in items for part in (_comma_separated(item) if isinstance(item, str) else [item])]
        return super().to_internal_value(data)


def _comma_separated(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
