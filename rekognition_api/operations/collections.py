"""CreateCollection, DescribeCollection, ListCollections, DeleteCollection, and the tags of collections:
TagResource, UntagResource, ListTagsForResource."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from recognition.exceptions import Conflict
from recognition.models import Collection, Face
from recognition.services.collections import collection_create
from recognition.services.erasure import collection_delete
from rekognition_api.models import CollectionUser
from rekognition_api.operations.common import Call, arn, collection, model_version
from rekognition_api.operations.pages import page
from rekognition_api.protocol import AwsError, invalid_parameter
from rekognition_api.tags import TagRefused, collection_tag, collection_untag, tags_check, tags_of

# A collection's ARN as this server gives it (as AWS's CreateCollection does, without "arn:"), or in full.
COLLECTION_ARN = re.compile(r"(?:arn:)?aws[\w-]*:rekognition:[^:]*:[^:]*:collection/(?P<id>[a-zA-Z0-9_.\-]+)")
REKOGNITION_ARN = re.compile(r"(?:arn:)?aws[\w-]*:rekognition:[^:]*:[^:]*:[a-z]+/.+")


def create_collection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require("recognition.add_collection", to="create collections")
    name, tags = params["CollectionId"], params.get("Tags", {})
    with _tags_refused():
        tags_check(tags)
    try:
        created = collection_create(name=name, actor=call.user, client_ip=call.client_ip)
    except Conflict as exc:
        raise AwsError("ResourceAlreadyExistsException", f"The collection id: {name} already exists") from exc
    collection_tag(created, tags)
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


def tag_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require("recognition.change_collection", to="tag collections")
    with _tags_refused():
        collection_tag(_tagged(params["ResourceArn"]), params["Tags"])
    return {}


def untag_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require("recognition.change_collection", to="tag collections")
    with _tags_refused():
        collection_untag(_tagged(params["ResourceArn"]), params["TagKeys"])
    return {}


def list_tags_for_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.require("recognition.view_collection", to="see collections")
    return {"Tags": tags_of(_tagged(params["ResourceArn"]))}


def _tagged(resource_arn: str) -> Collection:
    """The collection an ARN names: only collections have tags here (Custom Labels' projects and stream
    processors are not kept)."""
    named = COLLECTION_ARN.fullmatch(resource_arn)
    if named:
        return collection({"CollectionId": named["id"]})
    if REKOGNITION_ARN.fullmatch(resource_arn):
        raise AwsError("ResourceNotFoundException", f"{resource_arn} is not a collection: only collections are "
                       "kept on this server.")  # fmt: skip
    raise invalid_parameter(f"{resource_arn!r} is not the ARN of a Rekognition collection "
                            "(arn:aws:rekognition:<region>:<account>:collection/<id>).")  # fmt: skip


@contextmanager
def _tags_refused() -> Iterator[None]:
    try:
        yield
    except Collection.DoesNotExist as exc:
        raise AwsError("ResourceNotFoundException", str(exc)) from exc
    except TagRefused as exc:
        if exc.too_many:
            raise AwsError("ServiceQuotaExceededException", exc.message) from exc
        raise invalid_parameter(exc.message) from exc
