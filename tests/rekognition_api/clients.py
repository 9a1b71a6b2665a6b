"""Real boto3 clients for Facesite's Rekognition-compatible API, and a check of raw answers against
botocore's service model."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config
from botocore.model import Shape

from rekognition_api.keys import access_key_create

REGION = "eu-west-1"


def client_for(
    live_server, user, *, secret: str | None = None, checked: list | None = None, created_by: Any = None,
    validate: bool = True,
) -> Any:  # fmt: skip
    """A boto3 Rekognition client signing as ``user`` (with a wrong secret when given) with a key ``created_by``
    made, whose every raw answer is walked against the operation's output shape into ``checked``; without
    ``validate``, boto3 sends parameters it would refuse, for the server to refuse."""
    key, real_secret = access_key_create(user=user, actor=created_by)
    client = boto3.client(
        "rekognition",
        endpoint_url=f"{live_server.url}/rekognition",
        region_name=REGION,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=secret or real_secret,
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"}, parameter_validation=validate
        ),  # no retries: see every answer,
    )
    if checked is not None:

        def walk(operation_model=None, response_dict=None, **kwargs):
            if response_dict["status_code"] == 200:
                body = json.loads(response_dict["body"] or b"{}")
                checked.append((operation_model.name, shape_errors(body, operation_model.output_shape)))

        client.meta.events.register("before-parse.rekognition.*", walk)
    return client


def shape_errors(value: Any, shape: Shape | None, path: str = "") -> list[str]:
    """Where a JSON answer departs from its shape: unknown members, wrong types, missing required members."""
    if shape is None:
        return []
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path or '.'}: expected an object"]
        members = shape.members
        errors = [f"{path}.{name}: not in {shape.name}" for name in value if name not in members]
        errors += [f"{path}.{name}: required" for name in shape.required_members if name not in value]
        for name, item in value.items():
            errors += shape_errors(item, members.get(name), f"{path}.{name}")
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [e for i, item in enumerate(value) for e in shape_errors(item, shape.member, f"{path}[{i}]")]
    if kind == "map":
        return [] if isinstance(value, dict) else [f"{path}: expected a map"]
    expected = {
        "string": str,
        "integer": int,
        "long": int,
        "float": (int, float),
        "double": (int, float),
        "boolean": bool,
        "timestamp": (int, float),
        "blob": str,
    }[kind]
    if isinstance(value, bool) and kind != "boolean":
        return [f"{path}: a boolean where {kind} belongs"]
    if not isinstance(value, expected):
        return [f"{path}: {type(value).__name__} where {kind} belongs"]
    if kind == "string" and shape.enum and value not in shape.enum:
        return [f"{path}: {value!r} is not one of {shape.enum}"]
    return []
