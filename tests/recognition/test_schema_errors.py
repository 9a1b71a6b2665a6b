"""The errors the schema says any operation may answer (``recognition.api.schema.COMMON_ERRORS``) are documented
on every operation, and are what the operations answer, in the shape the schema gives."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.recognition.test_strict_input import OPERATIONS, _url

pytestmark = pytest.mark.django_db

WITH_IDS = [(method, path, operation) for method, path, operation in OPERATIONS if "{" in path]


def ids(operations: list) -> list[str]:
    return [f"{method} {path}" for method, path, _ in operations]


def error_codes(operation: dict, status: str) -> set[str]:
    """The ``code`` of each example the operation documents for ``status`` (field errors have none)."""
    examples = operation["responses"][status]["content"]["application/json"]["examples"]
    return {example["value"]["code"] for example in examples.values() if "code" in example["value"]}


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=ids(OPERATIONS))
def test_every_operation_documents_the_errors_any_operation_may_answer(method, path, operation):
    assert {"400", "401", "403", "429"} <= set(operation["responses"])
    assert ("404" in operation["responses"]) == ("{" in path), "404 where the path names an object"
    assert "unknown_parameter" in error_codes(operation, "400"), "beside the operation's own field errors"
    assert error_codes(operation, "401") == {"not_authenticated"}


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=ids(OPERATIONS))
def test_without_credentials_every_operation_answers_401_as_documented(method, path, operation):
    answer = APIClient().generic(method, _url(path))
    assert answer.status_code == 401
    assert set(answer.json()) == {"detail", "code"} and answer.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path", "operation"), WITH_IDS, ids=ids(WITH_IDS))
def test_an_id_nothing_has_answers_404_as_documented(root_client, method, path, operation):
    answer = root_client.generic(method, _url(path))
    assert answer.status_code == 404
    assert set(answer.json()) == {"detail", "code"} and answer.json()["code"] == "not_found"


def test_a_role_without_the_permission_answers_403_as_documented(no_role_client):
    answer = no_role_client.get("/api/images/")
    assert answer.status_code == 403
    assert set(answer.json()) == {"detail", "code"} and answer.json()["code"] == "permission_denied"
