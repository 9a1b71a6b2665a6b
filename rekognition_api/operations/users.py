"""CreateUser, DeleteUser, ListUsers, AssociateFaces, DisassociateFaces, SearchUsers, SearchUsersByImage.

A Rekognition user is a Facesite person; ``CollectionUser`` keeps the UserId the client chose. People
enrolled through the back office are users too, under their own id."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction

from recognition.engine_handler import get_engine
from recognition.engines.base import FaceDetail
from recognition.exceptions import engine_call
from recognition.models import Collection, Face, Person
from recognition.services.access import ENROL, SEARCH
from recognition.services.collections import people_of
from recognition.services.indexing import faces_associate, faces_disassociate, stored_face
from recognition.services.people import person_save
from recognition.services.reindex import restoring
from rekognition_api.models import CollectionUser
from rekognition_api.operations.collections import users_of
from rekognition_api.operations.common import (
    Call,
    collection,
    face_detail,
    faces_by_id,
    faces_to_search,
    image,
    model_version,
    person_of,
    user_id_of,
)
from rekognition_api.operations.pages import page
from rekognition_api.protocol import AwsError, invalid_parameter


def create_user(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require(ENROL, to="create users")
    found, user_id = collection(params), params["UserId"]
    if user_id in users_of(found):
        raise AwsError("ConflictException", f"The user id: {user_id} already exists in the collection.")
    with transaction.atomic():
        person = person_save(person=Person(), changes={"name": user_id}, actor=call.user, client_ip=call.client_ip,
                             via="rekognition-api")  # fmt: skip
        CollectionUser.objects.create(collection=found, user_id=user_id, person=person)
    return {}


def delete_user(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The user's faces stay in the collection, owned by no one; the person stays in the back office."""
    call.require(ENROL, to="delete users")
    found = collection(params)
    person = person_of(found, params["UserId"])
    faces = list(Face.objects.references().filter(collection=found, person=person))
    faces_disassociate(person=person, faces=faces, actor=call.user, client_ip=call.client_ip)
    CollectionUser.objects.filter(collection=found, person=person).delete()
    return {}


def list_users(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require("recognition.view_person", to="list users")
    users = sorted(users_of(collection(params)))
    chunk, more = page(users, params, default=500, salt=f"rekognition.users.{params['CollectionId']}")
    return {"Users": [{"UserId": user, "UserStatus": "ACTIVE"} for user in chunk], **more}


def associate_faces(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require(ENROL, to="associate faces")
    found, user_id = collection(params), params["UserId"]
    person = person_of(found, user_id)
    faces = faces_by_id(found, params["FaceIds"])
    threshold = params.get("UserMatchThreshold", 75.0)
    refused: list[dict[str, Any]] = []
    candidates = []
    has_faces = Face.objects.references().filter(collection=found, person=person).exists()
    for face_id in params["FaceIds"]:
        face = faces.get(face_id)
        if face is None:
            refused.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
        elif face.person_id not in (None, person.pk):
            refused.append({"FaceId": face_id, "UserId": user_id_of(face.person, found) or "",
                            "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]})  # fmt: skip
        elif has_faces and face.person_id is None and (score := _likeness(found, face, person)) < threshold:
            refused.append({"FaceId": face_id, "UserId": user_id, "Confidence": score,
                            "Reasons": ["LOW_MATCH_CONFIDENCE"]})  # fmt: skip
        else:
            candidates.append(face)
    faces_associate(person=person, faces=candidates, actor=call.user, client_ip=call.client_ip)
    answer: dict[str, Any] = {"UnsuccessfulFaceAssociations": refused, "UserStatus": "ACTIVE"}
    if candidates:
        answer["AssociatedFaces"] = [{"FaceId": str(f.pk)} for f in candidates]
    return answer


def _likeness(found: Collection, face: Face, person: Person) -> float:
    """How alike a face is to a user's faces already there (AWS's check before associating)."""
    engine = get_engine()
    with engine_call():
        score = engine.user_similarity(found.name, face.image.read_bytes(), stored_face(face), person.engine_user_id)
    return score or 0.0


def disassociate_faces(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require(ENROL, to="disassociate faces")
    found, user_id = collection(params), params["UserId"]
    person = person_of(found, user_id)
    faces = faces_by_id(found, params["FaceIds"])
    refused, theirs = [], []
    for face_id in params["FaceIds"]:
        face = faces.get(face_id)
        if face is None:
            refused.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
        elif face.person_id != person.pk:
            refused.append({"FaceId": face_id, "UserId": user_id, "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]})
        else:
            theirs.append(face)
    faces_disassociate(person=person, faces=theirs, actor=call.user, client_ip=call.client_ip)
    answer: dict[str, Any] = {"UnsuccessfulFaceDisassociations": refused, "UserStatus": "ACTIVE"}
    if theirs:
        answer["DisassociatedFaces"] = [{"FaceId": str(f.pk)} for f in theirs]
    return answer


def search_users(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Users like one face of the collection, or like a user (by their largest face), best first."""
    call.require(SEARCH, to="search users")
    found = collection(params)
    if bool(params.get("FaceId")) == bool(params.get("UserId")):
        raise invalid_parameter("Give either a FaceId or a UserId.")
    answer: dict[str, Any] = {"FaceModelVersion": model_version()}
    if params.get("FaceId"):
        face = faces_by_id(found, [params["FaceId"]]).get(params["FaceId"])
        if face is None:
            raise invalid_parameter(f"The face id: {params['FaceId']} does not exist in the collection.")
        answer["SearchedFace"] = {"FaceId": str(face.pk)}
        exclude = None
    else:
        exclude = person_of(found, params["UserId"])
        face = Face.objects.references().filter(collection=found, person=exclude).order_by("-width").first()
        if face is None:
            raise invalid_parameter(f"The user id: {params['UserId']} has no faces to search with.")
        answer["SearchedUser"] = {"UserId": params["UserId"]}
    matches = _users_like(found, face.image.read_bytes(), stored_face(face), params, exclude=exclude)
    answer["UserMatches"] = matches
    return answer


def search_users_by_image(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require(SEARCH, to="search users")
    found = collection(params)
    probe = image(params["Image"])
    faces = faces_to_search(probe, params, attributes=True)
    return {
        "UserMatches": _users_like(found, probe.data, faces.searched, params),
        "FaceModelVersion": model_version(),
        "SearchedFace": {"FaceDetail": face_detail(faces.searched)},
        "UnsearchedFaces": [
            {"FaceDetails": face_detail(face), "Reasons": reasons} for face, reasons in faces.unsearched
        ],
    }


def _users_like(
    found: Collection, data: bytes, face: FaceDetail, params: dict[str, Any], *, exclude: Person | None = None
) -> list[dict[str, Any]]:
    engine = get_engine()
    limit = params.get("MaxUsers", 500)
    with engine_call():
        matches = restoring(
            collection=found,
            engine=engine,
            call=partial(engine.search_users, found.name, data, face,
                         threshold=params.get("UserMatchThreshold", 80.0), max_users=limit + 1),
        )  # fmt: skip
    people = people_of(matches)
    answer = []
    for match in matches:
        person = people.get(match.user_id)
        if person is None or person == exclude:
            continue
        answer.append({"Similarity": match.similarity,
                       "User": {"UserId": user_id_of(person, found), "UserStatus": "ACTIVE"}})  # fmt: skip
    return answer[:limit]
