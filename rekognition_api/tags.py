"""Tags on collections, as Rekognition keeps them: at most 50 a collection, keys of 1–128 characters not
starting with ``aws:``, values of up to 256, both of letters, digits, spaces and ``_.:/=+-@``.

(AWS's limits, from its tagging documentation; the service model's Java patterns are checked here because
Python's ``re`` cannot read ``\\p{L}``.)"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

from django.db import transaction

from recognition.models import Collection
from rekognition_api.models import CollectionTag

MAX_TAGS = 50
MAX_KEY, MAX_VALUE = 128, 256
RESERVED_PREFIX = "aws:"
PUNCTUATION = set("_.:/=+-@")
ALLOWED = f"letters, digits, spaces and {''.join(sorted(PUNCTUATION))}"


class TagRefused(Exception):
    def __init__(self, message: str, *, too_many: bool = False) -> None:
        super().__init__(message)
        self.message, self.too_many = message, too_many


def tags_of(collection: Collection) -> dict[str, str]:
    return dict(CollectionTag.objects.filter(collection=collection).values_list("key", "value"))


def tags_check(tags: Mapping[str, str]) -> None:
    """``TagRefused`` naming the first key or value Rekognition would refuse."""
    if len(tags) > MAX_TAGS:
        raise TagRefused(f"{len(tags)} tags: a collection has at most {MAX_TAGS}.", too_many=True)
    for key, value in tags.items():
        tag_key_check(key)
        if len(value) > MAX_VALUE or not _tag_text(value):
            raise TagRefused(f"The value of tag {key!r} must be at most {MAX_VALUE} {ALLOWED}.")


def tag_key_check(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY or not _tag_text(key):
        raise TagRefused(f"Tag key {key!r} must be 1 to {MAX_KEY} {ALLOWED}.")
    if key.lower().startswith(RESERVED_PREFIX):
        raise TagRefused(f"Tag key {key!r} starts with {RESERVED_PREFIX!r}, which AWS keeps for its own tags.")


def collection_tag(collection: Collection, tags: Mapping[str, str]) -> None:
    """Add ``tags`` to the collection, a key already there taking the new value; ``TagRefused`` (nothing
    changed) for a tag Rekognition would refuse or for more than ``MAX_TAGS`` in all;
    ``Collection.DoesNotExist`` if it was deleted meanwhile."""
    tags_check(tags)
    with transaction.atomic():
        # Lock the collection's row, so that two calls at once cannot pass the limit together.
        if not Collection.objects.select_for_update().filter(pk=collection.pk).exists():
            raise Collection.DoesNotExist(f"The collection {collection.name} was deleted.")
        kept = set(tags_of(collection)) | set(tags)
        if len(kept) > MAX_TAGS:
            raise TagRefused(f"The collection would have {len(kept)} tags; it may have at most {MAX_TAGS}.",
                             too_many=True)  # fmt: skip
        for key, value in tags.items():
            CollectionTag.objects.update_or_create(collection=collection, key=key, defaults={"value": value})


def collection_untag(collection: Collection, keys: Iterable[str]) -> None:
    """Remove the tags with these keys; keys the collection has no tag for are passed over, as AWS does."""
    keys = list(keys)
    for key in keys:
        tag_key_check(key)
    CollectionTag.objects.filter(collection=collection, key__in=keys).delete()


def _tag_text(text: str) -> bool:
    return all(ch.isalnum() or unicodedata.category(ch).startswith("Z") or ch in PUNCTUATION for ch in text)
