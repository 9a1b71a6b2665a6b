"""The OpenAPI schema's finishing touches: one-line summaries of every operation, in one table (a test checks
none is missing), and request bodies that admit no other fields."""

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
    ("/api/people/{id}/faces/", "get"): "List a person's reference faces",
    ("/api/people/{id}/faces/", "post"): "Enrol a reference photo",
    ("/api/people/{id}/faces/{face_id}/", "delete"): "Remove a reference face",
    ("/api/collections/", "get"): "List collections",
    ("/api/collections/", "post"): "Create a collection",
    ("/api/collections/{id}/", "get"): "Get a collection",
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
