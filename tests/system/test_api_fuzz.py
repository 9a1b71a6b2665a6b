"""Property-based run of the whole API against its own OpenAPI schema (Schemathesis).

Every operation gets generated requests, valid and invalid; none may answer 5xx,
and every response must match the schema (status documented or not, the body of
a documented response must conform). Runs as an administrator, so every
operation is reachable, on the fake engine, so it stays fast.
"""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from backoffice import roles
from facesite.wsgi import application
from tests.factories import UserFactory
from tests.helpers import token_for

schema = schemathesis.openapi.from_dict(json.loads(json.dumps(SchemaGenerator().get_schema(public=True), default=str)))
schema.app = application

pytestmark = pytest.mark.slow


@pytest.fixture
def admin_token(db):
    # Requests go through the raw WSGI application; like Django's test client, keep it
    # from closing the test's database connection at the end of each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield token_for(UserFactory(role=roles.ADMINISTRATOR))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_never_errors_and_always_matches_its_schema(case, admin_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {admin_token}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
