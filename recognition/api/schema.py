"""The OpenAPI schema's finishing touches: one-line summaries of every operation, in one table (a test checks
none is missing), request bodies that admit no other fields, and the errors every operation may answer."""

from __future__ import annotations

from typing import Any

SUMMARIES = {
    ("/api/", "get"): "List the API's endpoints",
    ("/api/images/", "get"): "List images",
    ("/api/images/", "post"): "Upload an image for analysis",
    ("/api/images/{id}/", "get"): "Get an image with its results",
    ("/api/images/{id}/", "delete"): "Delete an image and its results",
    ("/api/images/{id}/file/", "get"): "Download the image",
    ("/api/people/", "get"): "List or search people",
    ("/api/people/", "post"): "Create a person",
    ("/api/people/{id}/", "get"): "Get a person",
    ("/api/people/{id}/", "put"): "Replace a person's details",
    ("/api/people/{id}/", "patch"): "Change a person's details",
    ("/api/people/{id}/", "delete"): "Erase a person and every trace of them",
    ("/api/people/{id}/export/", "get"): "Export everything held about a person (subject access)",
    ("/api/people/{id}/exports/", "post"): "Have a person's export made in the background (subject access)",
    ("/api/people/{id}/faces/", "get"): "List a person's reference faces",
    ("/api/people/{id}/faces/", "post"): "Enrol a reference photo",
    ("/api/people/{id}/faces/{face_id}/", "delete"): "Remove a reference face",
    ("/api/collections/", "get"): "List collections",
    ("/api/collections/", "post"): "Create a collection",
    ("/api/collections/{id}/", "get"): "Get a collection",
    ("/api/exports/", "get"): "List exports made in the background",
    ("/api/exports/{id}/", "get"): "Get an export's state and download link",
    ("/api/exports/{id}/", "delete"): "Delete an export before it expires",
    ("/api/exports/{id}/download/", "get"): "Download an export's zip",
    ("/api/audit-events/", "get"): "List the audit trail (after=<id> for what is new)",
    ("/api/audit-events/{id}/", "get"): "Get one audit event",
    ("/api/search/", "post"): "Search a photo's faces among enrolled people",
    ("/api/verify/", "post"): "Verify a badge holder's face (badge + face)",
    ("/api/compare/", "post"): "Compare the faces of two photos",
    ("/api/deliveries/", "get"): "List deliveries to endpoints",
    ("/api/deliveries/{id}/", "get"): "Get a delivery with its attempts",
    ("/api/deliveries/{id}/resend/", "post"): "Send a delivery again",
    ("/api/videos/", "get"): "List videos",
    ("/api/videos/", "post"): "Upload a video to find people in",
    ("/api/videos/{id}/", "get"): "Get a video with its progress and sightings",
    ("/api/videos/{id}/", "delete"): "Delete a video, its sightings and their frames",
    ("/api/cameras/", "get"): "List live cameras",
    ("/api/cameras/{id}/", "get"): "Get a live camera with its latest sightings",
}


def add_summaries(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            summary = SUMMARIES.get((path, method))
            if summary:
                operation["summary"] = summary
    return result


def forbid_unknown_fields(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Say in the schema what the API does (``recognition.api.strict``): a request body's fields are all
    its operation takes. With COMPONENT_SPLIT_REQUEST, request bodies are the components named ``…Request``."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result


_ERROR = {"$ref": "#/components/schemas/Error"}
_FIELD_ERRORS = {"$ref": "#/components/schemas/FieldErrors"}
#: What any operation may answer beside its own results, each as ``{"detail": …, "code": …}``: (description,
#: example). 404 only where the path names an object.
COMMON_ERRORS: dict[str, tuple[str, dict[str, str]]] = {
    "400": (
        "Bad input: a query parameter the operation does not take (`unknown_parameter`; the answer names those "
        "it takes), or a map of field or filter names (or `non_field_errors`) to lists of messages.",
        {"detail": "Unknown query parameter: statuss. This operation takes: page, page_size, status, …",
         "code": "unknown_parameter"},
    ),
    "401": (
        "No credentials, or a token that is unknown or has expired (`not_authenticated`, `authentication_failed`).",
        {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"},
    ),
    "403": (
        "The user's role does not allow this operation (`permission_denied`).",
        {"detail": "You do not have permission to perform this action.", "code": "permission_denied"},
    ),
    "404": (
        "Nothing with this id, or nothing this user may see (`not_found`).",
        {"detail": "No Image matches the given query.", "code": "not_found"},
    ),
    "429": (
        "Too many requests: the user's rate for uploads, enrolments or checks, or too many unknown tokens from "
        "this address (`throttled`). Try again after the Retry-After seconds.",
        {"detail": "Request was throttled. Expected available in 12 seconds.", "code": "throttled"},
    ),
}  # fmt: skip


def document_common_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Every operation's answers include the errors any operation may give (``COMMON_ERRORS``), in the shape
    they all share (``Error``). Where an operation documents its own 400 (bad fields), the unknown query
    parameter joins it as one more example."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", {
        "type": "object", "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
        "required": ["detail"],
    })  # fmt: skip
    schemas["FieldErrors"] = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, (description, example) in COMMON_ERRORS.items():
                if code == "404" and "{" not in path:
                    continue
                answer = responses.setdefault(code, {"description": description, "content": {}})
                schema = {"anyOf": [_ERROR, _FIELD_ERRORS]} if code == "400" else _ERROR
                content = answer.setdefault("content", {}).setdefault("application/json", {"schema": schema})
                content.setdefault("examples", {}).setdefault(example["code"], {"value": example})
    return result
