"""Examples shown in the OpenAPI schema and Swagger UI (values from real runs of the local engine)."""

from drf_spectacular.utils import OpenApiExample

PERSON_REF = {"id": "fad8655d-5249-4b05-afe0-cb64b3db4abe", "name": "Barack Obama", "external_id": "B-0044"}
BOX = {"left": 0.3158, "top": 0.195, "width": 0.4342, "height": 0.3186}

UPLOAD = [
    OpenApiExample(
        "Base64 in JSON",
        value={"image_base64": "/9j/4AAQSkZJRgABAQ...", "features": ["faces", "labels"]},
        request_only=True,
    ),
    OpenApiExample(
        "A URL for the worker to fetch",
        value={"url": "https://cameras.example.org/lobby/latest.jpg"},
        request_only=True,
    ),
    OpenApiExample(
        "Accepted",
        value={
            "id": "6a530df7-723a-4b91-8642-c15bf9862dfc",
            "status": "pending",
            "error": "",
            "source": "base64",
            "collection": "default",
            "features": ["faces", "labels"],
            "labels": [],
            "faces": [],
        },
        response_only=True,
        status_codes=["202"],
    ),
]

VERIFY = [
    OpenApiExample(
        "Badge and photo", value={"external_id": "B-0044", "image_base64": "/9j/4AAQ..."}, request_only=True
    ),
    OpenApiExample(
        "Match",
        value={
            "verification_id": "0b2d7c1e-5a44-4a4e-9d57-3c1f0e9b8a21",
            "match": True,
            "outcome": "match",
            "similarity": 91.447,
            "threshold": 80.0,
            "person": PERSON_REF,
            "bounding_box": BOX,
            "created_at": "2026-11-23T01:39:02Z",
        },
        response_only=True,
    ),
    OpenApiExample(
        "Unknown badge",
        value={
            "verification_id": "3c0a9a35-0f7e-4d0c-9b7e-7c6f1d2e4b11",
            "match": False,
            "outcome": "unknown_badge",
            "similarity": None,
            "threshold": 80.0,
            "person": None,
            "bounding_box": None,
            "created_at": "2026-11-23T01:40:10Z",
        },
        response_only=True,
    ),
]

SEARCH = [
    OpenApiExample(
        "Photo", value={"image_base64": "/9j/4AAQ...", "threshold": 80, "max_matches": 5}, request_only=True
    ),
    OpenApiExample(
        "One face, identified",
        value={
            "threshold": 80.0,
            "faces": [
                {"bounding_box": BOX, "confidence": 95.105, "matches": [{"person": PERSON_REF, "similarity": 89.26}]}
            ],
        },
        response_only=True,
    ),
]

COMPARE = [
    OpenApiExample(
        "Same person",
        value={
            "source_face": {"bounding_box": BOX, "confidence": 95.3},
            "faces": [{"bounding_box": BOX, "confidence": 95.1, "similarity": 89.26, "match": True}],
            "threshold": 80.0,
        },
        response_only=True,
    ),
]

ENROL_REFUSED = OpenApiExample(
    "Several faces",
    value={"detail": "2 faces were found; a reference photo must show exactly one person.", "code": "several_faces"},
    response_only=True,
    status_codes=["422"],
)
