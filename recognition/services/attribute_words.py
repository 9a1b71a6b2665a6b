"""What an engine estimated about a face, kept as Rekognition names it (``AgeRange``, ``Emotions``, …), in
words a person reads: for the back office, and for the person themselves in a subject access export."""

from __future__ import annotations

from typing import Any

# Rekognition's yes-or-no attributes, and what each says.
YES_OR_NO = {
    "Smile": "smiling", "EyesOpen": "eyes open", "MouthOpen": "mouth open", "Eyeglasses": "glasses",
    "Sunglasses": "sunglasses", "Beard": "beard", "Mustache": "moustache", "FaceOccluded": "face partly covered",
}  # fmt: skip


def attributes_in_words(attributes: dict[str, Any]) -> dict[str, str]:
    """``{"age": "31–39", "gender": "male, 99 % sure", "expression": "calm, 87 % sure", "smiling": "no, …"}``:
    each estimate held, in the order people ask about them; those not held are left out."""
    words = {}
    if age := attributes.get("AgeRange"):
        words["age"] = f"{age['Low']}–{age['High']}"
    if gender := attributes.get("Gender"):
        words["gender"] = _sure(str(gender["Value"]).lower(), gender)
    if emotions := attributes.get("Emotions"):
        likeliest = max(emotions, key=lambda emotion: emotion["Confidence"])
        words["expression"] = _sure(str(likeliest["Type"]).lower(), likeliest)
    for key, name in YES_OR_NO.items():
        if estimate := attributes.get(key):
            words[name] = _sure("yes" if estimate["Value"] else "no", estimate)
    if gaze := attributes.get("EyeDirection"):
        words["looking"] = f"{gaze['Yaw']:+.0f}° to the side, {gaze['Pitch']:+.0f}° up or down"
    return words


def _sure(value: str, estimate: dict[str, Any]) -> str:
    return f"{value}, {estimate['Confidence']:.0f} % sure"
