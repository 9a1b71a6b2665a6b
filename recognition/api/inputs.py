"""Reading an image from a request: a multipart file or base64 in JSON, size-checked before decoding."""

from __future__ import annotations

import base64
import binascii

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from recognition.validation import ImageRejected, check_size


class ImageField(serializers.Field):
    """Accepts an uploaded file (multipart) or a base64 string (JSON); gives bytes."""

    default_error_messages = {
        "invalid": "Send an image file (multipart) or a base64 string (JSON).",
        "base64": "Not valid base64: {reason}.",
    }

    def to_internal_value(self, data) -> bytes:
        if hasattr(data, "read") and hasattr(data, "size"):
            self._check(data.size)  # before reading a byte of it
            return data.read()
        if isinstance(data, str):
            text = data.strip()
            if text.startswith("data:") and "," in text:
                text = text.split(",", 1)[1]  # data URLs: data:image/jpeg;base64,...
            self._check(len(text) * 3 // 4)
            try:
                return base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError) as exc:
                self.fail("base64", reason=str(exc).rstrip("."))
        self.fail("invalid")

    def to_representation(self, value):  # pragma: no cover - input only
        return None

    @staticmethod
    def _check(size: int) -> None:
        try:
            check_size(size)
        except ImageRejected as exc:
            raise ValidationError(exc.message, code=exc.code) from exc
