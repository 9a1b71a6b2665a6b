"""IndexFaces, ListFaces, DeleteFaces, SearchFaces, SearchFacesByImage."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from recognition.models import Face
from recognition.services.access import ENROL, SEARCH
from recognition.services.erasure import reference_face_remove
from recognition.services.indexing import faces_index, faces_like, stored_face
from rekognition_api.operations.common import (
    Call,
    attributes_asked,
    box,
    collection,
    face_detail,
    face_json,
    faces_by_id,
    faces_to_search,
    image,
    model_version,
    person_of,
    user_id_of,
)
from rekognition_api.operations.pages import page
from rekognition_api.protocol import invalid_parameter


def index_faces(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require(ENROL, to="index faces")
    found = collection(params)
    result = faces_index(
        collection=found,
        data=image(params["Image"]),
        max_faces=params.get("MaxFaces", 100),
        external_image_id=params.get("ExternalImageId", ""),
        quality_filter=params.get("QualityFilter", "AUTO"),
        actor=call.user,
        client_ip=call.client_ip,
    )
    asked = attributes_asked(params.get("DetectionAttributes"))
    return {
        "FaceRecords": [
            {"Face": face_json(row, found), "FaceDetail": face_detail(detail, attributes=asked)}
            for row, detail in result.indexed
        ],
        "FaceModelVersion": model_version(),
        "UnindexedFaces": [
            {"Reasons": list(u.reasons), "FaceDetail": face_detail(u.face, attributes=asked)} for u in result.unindexed
        ],
    }


def list_faces(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require("recognition.view_face", to="list faces")
    found = collection(params)
    faces = Face.objects.references().filter(collection=found).select_related("person").order_by("created_at", "pk")
    if params.get("UserId"):
        faces = faces.filter(person=person_of(found, params["UserId"]))
    if params.get("FaceIds"):
        faces = faces.filter(pk__in=list(faces_by_id(found, params["FaceIds"])))
    chunk, more = page(list(faces), params, default=1000, salt=f"rekognition.faces.{found.pk}")
    return {"Faces": [face_json(f, found) for f in chunk], "FaceModelVersion": model_version(), **more}


def delete_faces(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require("recognition.delete_face", to="delete faces")
    found = collection(params)
    faces = faces_by_id(found, params["FaceIds"])
    deleted, refused = [], []
    for face_id in params["FaceIds"]:
        face = faces.get(face_id)
        if face is None:
            refused.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
        elif face.person_id is not None:  # as AWS: a user's face is disassociated first
            user = user_id_of(face.person, found) or ""
            refused.append({"FaceId": face_id, "UserId": user, "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]})
        else:
            with transaction.atomic():
                reference_face_remove(face=face, actor=call.user, client_ip=call.client_ip)
            deleted.append(face_id)
    answer: dict[str, Any] = {"UnsuccessfulFaceDeletions": refused}
    if deleted:
        answer["DeletedFaces"] = deleted
    return answer


def search_faces(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require(SEARCH, to="search faces")
    found = collection(params)
    face = faces_by_id(found, [params["FaceId"]]).get(params["FaceId"])
    if face is None:
        raise invalid_parameter(f"The face id: {params['FaceId']} does not exist in the collection.")
    matches = faces_like(
        collection=found,
        data=face.image.read_bytes(),
        face=stored_face(face),
        threshold=params.get("FaceMatchThreshold", 80.0),
        max_faces=params.get("MaxFaces", 4096) + 1,
    )
    return {
        "SearchedFaceId": str(face.pk),
        "FaceMatches": [
            {"Similarity": similarity, "Face": face_json(row, found)}
            for row, similarity in matches
            if row.pk != face.pk
        ][: params.get("MaxFaces", 4096)],
        "FaceModelVersion": model_version(),
    }


def search_faces_by_image(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require(SEARCH, to="search faces")
    found = collection(params)
    probe = image(params["Image"])
    face = faces_to_search(probe, params, attributes=False).searched
    matches = faces_like(
        collection=found,
        data=probe.data,
        face=face,
        threshold=params.get("FaceMatchThreshold", 80.0),
        max_faces=params.get("MaxFaces", 4096),
    )
    return {
        "SearchedFaceBoundingBox": box(face.bounding_box),
        "SearchedFaceConfidence": face.confidence,
        "FaceMatches": [{"Similarity": similarity, "Face": face_json(row, found)} for row, similarity in matches],
        "FaceModelVersion": model_version(),
    }
