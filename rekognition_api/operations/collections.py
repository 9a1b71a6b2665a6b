"""CreateCollection, DescribeCollection, ListCollections, DeleteCollection."""

from __future__ import annotations

from typing import Any

from recognition.exceptions import Conflict
from recognition.models import Collection, Face
from recognition.services.collections import collection_create
from recognition.services.erasure import collection_delete
from rekognition_api.models import CollectionUser
from rekognition_api.operations.common import Call, arn, collection, model_version
from rekognition_api.operations.pages import page
from rekognition_api.protocol import AwsError


def create_collection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require("recognition.add_collection", to="create collections")
    name = params["CollectionId"]
    try:
        collection_create(name=name, actor=call.user, client_ip=call.client_ip)
    except Conflict as exc:
        raise AwsError("ResourceAlreadyExistsException", f"The collection id: {name} already exists") from exc
    return {"StatusCode": 200, "CollectionArn": arn(call, name), "FaceModelVersion": model_version()}


def describe_collection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require("recognition.view_collection", to="see collections")
    found = collection(params)
    return {
        "FaceCount": Face.objects.references().filter(collection=found).count(),
        "UserCount": len(users_of(found)),
        "FaceModelVersion": model_version(),
        "CollectionARN": arn(call, found.name),
        "CreationTimestamp": found.created_at,
    }


def users_of(found: Collection) -> dict[str, Any]:
    """UserId → person: users created through the API, and people enrolled in the back office (their id)."""
    users = {
        row.user_id: row.person for row in CollectionUser.objects.filter(collection=found).select_related("person")
    }
    named = {row.person_id for row in CollectionUser.objects.filter(collection=found)}
    for face in Face.objects.references().filter(collection=found, person__isnull=False).select_related("person"):
        if face.person_id not in named:
            users.setdefault(str(face.person_id), face.person)
    return users


def list_collections(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require("recognition.view_collection", to="see collections")
    names = list(Collection.objects.order_by("name").values_list("name", flat=True))
    chunk, more = page(names, params, default=1000, salt="rekognition.collections")
    return {"CollectionIds": chunk, "FaceModelVersions": [model_version()] * len(chunk), **more}


def delete_collection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require("recognition.delete_collection", to="delete collections")
    found = collection(params)
    try:
        collection_delete(collection=found, actor=call.user, client_ip=call.client_ip)
    except Conflict as exc:
        raise AwsError("ResourceInUseException", exc.message) from exc
    return {"StatusCode": 200}
