"""Results a page at a time, as Rekognition's ``List`` and ``Get`` operations answer them: ``MaxResults`` at
most, and a ``NextToken`` when more follow. Tokens are signed, so a client cannot forge where one points."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

from django.core import signing
from django.db.models import Model, Q, QuerySet

from rekognition_api.protocol import AwsError

Row = TypeVar("Row", bound=Model)
Item = TypeVar("Item")


def page(items: list[Any], params: dict[str, Any], *, default: int, salt: str) -> tuple[list[Any], dict[str, str]]:
    """One page of ``items``, and ``{"NextToken": ...}`` when more follow (signed, so a client cannot forge
    an offset)."""
    start = 0
    if params.get("NextToken"):
        try:
            start = int(signing.loads(params["NextToken"], salt=salt)["o"])
        except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
            raise _invalid_token() from exc
    size = params.get("MaxResults") or default
    chunk = items[start : start + size]
    if start + size >= len(items):
        return chunk, {}
    return chunk, {"NextToken": signing.dumps({"o": start + size}, salt=salt)}


def page_after(
    read: Callable[[list[Any] | None, int], Iterator[Item]], place: Callable[[Item], list[Any]],
    params: dict[str, Any], *, default: int, salt: str,
) -> tuple[list[Item], dict[str, str]]:  # fmt: skip
    """One page of what ``read(after, count)`` yields: the items after the place ``after`` (None: from the
    first), ``count`` of them at least where there are so many, each item's place (``place``, a list of the
    same length for every item) after the one before. ``{"NextToken": ...}`` when more follow: it holds the
    place of the page's last item, so each page is read from where the last one ended, however much comes
    before it. ``salt``: what tokens are good for (a token of one job, or one order, is none of another)."""
    size = params.get("MaxResults") or default
    found = list(islice(read(_place(params, salt), size + 1), size + 1))
    if len(found) <= size:
        return found, {}
    return found[:size], {"NextToken": signing.dumps({"k": place(found[size - 1])}, salt=salt)}


def page_of_rows(
    rows: QuerySet[Row], order: Sequence[str], params: dict[str, Any], *, default: int, salt: str,
    wanted: Callable[[Row], bool] = lambda row: True,
) -> tuple[list[Row], dict[str, str]]:  # fmt: skip
    """One page of ``rows`` in ``order`` (fields that end with ``pk``, so no two rows tie), only those
    ``wanted``, as ``page_after`` reads it."""

    def read(last: list[Any] | None, count: int) -> Iterator[Row]:
        while True:
            batch = list(_after(rows, order, last)[:count])
            yield from (row for row in batch if wanted(row))
            if len(batch) < count:
                return
            last = _key(batch[-1], order)

    return page_after(read, lambda row: _key(row, order), params, default=default, salt=f"{salt}.{','.join(order)}")


def _place(params: dict[str, Any], salt: str) -> list[Any] | None:
    if not params.get("NextToken"):
        return None
    try:
        key = signing.loads(params["NextToken"], salt=salt)["k"]
    except (signing.BadSignature, KeyError, TypeError) as exc:
        raise _invalid_token() from exc
    if not isinstance(key, list):
        raise _invalid_token()
    return key


def _after(rows: QuerySet[Row], order: Sequence[str], last: list[Any] | None) -> QuerySet[Row]:
    """``rows`` in ``order`` from the one after ``last`` (its key in that order). The first field's ``>=``
    lets the database start in its index there rather than walk it from the beginning."""
    rows = rows.order_by(*order)
    if last is None:
        return rows
    later = Q()
    for i, field in enumerate(order):
        later |= Q(**dict(zip(order[:i], last[:i], strict=True)), **{f"{field}__gt": last[i]})
    return rows.filter(Q(**{f"{order[0]}__gte": last[0]}), later)


def _key(row: Model, order: Sequence[str]) -> list[Any]:
    return [getattr(row, field) for field in order]


def _invalid_token() -> AwsError:
    return AwsError("InvalidPaginationTokenException", "Invalid pagination token.")
