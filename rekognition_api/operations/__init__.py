"""The Rekognition operations Facesite answers, by name. Each takes the ``Call`` and the checked
parameters and returns the response body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rekognition_api.operations import collections, faces, images, users, video_labels, video_text, videos
from rekognition_api.operations.common import Call

Operation = Callable[[Call, dict[str, Any]], dict[str, Any]]

OPERATIONS: dict[str, Operation] = {
    "DetectLabels": images.detect_labels,
    "DetectFaces": images.detect_faces,
    "DetectText": images.detect_text,
    "DetectModerationLabels": images.detect_moderation_labels,
    "CompareFaces": images.compare_faces,
    "CreateCollection": collections.create_collection,
    "DescribeCollection": collections.describe_collection,
    "ListCollections": collections.list_collections,
    "DeleteCollection": collections.delete_collection,
    "TagResource": collections.tag_resource,
    "UntagResource": collections.untag_resource,
    "ListTagsForResource": collections.list_tags_for_resource,
    "IndexFaces": faces.index_faces,
    "ListFaces": faces.list_faces,
    "DeleteFaces": faces.delete_faces,
    "SearchFaces": faces.search_faces,
    "SearchFacesByImage": faces.search_faces_by_image,
    "CreateUser": users.create_user,
    "DeleteUser": users.delete_user,
    "ListUsers": users.list_users,
    "AssociateFaces": users.associate_faces,
    "DisassociateFaces": users.disassociate_faces,
    "SearchUsers": users.search_users,
    "SearchUsersByImage": users.search_users_by_image,
    "StartFaceSearch": videos.start_face_search,
    "GetFaceSearch": videos.get_face_search,
    "StartFaceDetection": videos.start_face_detection,
    "GetFaceDetection": videos.get_face_detection,
    "StartLabelDetection": video_labels.start_label_detection,
    "GetLabelDetection": video_labels.get_label_detection,
    "StartContentModeration": video_labels.start_content_moderation,
    "GetContentModeration": video_labels.get_content_moderation,
    "StartTextDetection": video_text.start_text_detection,
    "GetTextDetection": video_text.get_text_detection,
}

# Each call counts against the same per-user rates as the REST API (REST_FRAMEWORK's throttle rates), so
# this door is no way around them: enrolment-like calls as enrolments, a video to search as an upload,
# everything else as checks.
ENROLLING = {"IndexFaces", "CreateUser", "AssociateFaces"}
UPLOADING = {
    "StartFaceSearch", "StartFaceDetection", "StartLabelDetection", "StartContentModeration", "StartTextDetection"
}  # fmt: skip


def rate_scope(operation: str) -> str:
    return "enrol" if operation in ENROLLING else "upload" if operation in UPLOADING else "sync"
