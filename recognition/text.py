"""Text people type (names, badges, notes): refused at input when it holds control characters.

A badge read from a card reader or a name pasted from a spreadsheet can carry invisible
control characters. They are refused where text comes in, with a message saying which one;
what is stored already is made safe where it goes out (``integrations.xml``).
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError

#: Line breaks and tabs are fine in free text such as notes; nowhere else.
LAYOUT = frozenset("\t\n\r")


def _refuse(value: str, allowed: frozenset[str]) -> None:
    for position, char in enumerate(value, start=1):
        if (char not in allowed and unicodedata.category(char) in ("Cc", "Cs")) or char in "\ufffe\uffff":
            raise ValidationError(
                f"Remove the control character U+{ord(char):04X} at position {position}: it cannot be stored.",
                code="control_character",
            )


def single_line(value: str) -> None:
    """Validator for names and codes: no control characters at all, not even line breaks."""
    _refuse(value, frozenset())


def free_text(value: str) -> None:
    """Validator for notes: line breaks and tabs, but no other control character."""
    _refuse(value, LAYOUT)
