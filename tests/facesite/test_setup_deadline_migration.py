"""Migration ``backoffice 0013``: users who joined long ago and had not set up an authenticator when the set-up
days came get them from the upgrade on, not from when they joined; those with one get nothing."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE, AFTER = ("backoffice", "0012_security_keys"), ("backoffice", "0013_setup_deadline")


@pytest.fixture
def at_0012():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    yield MigrationExecutor(connection).loader.project_state([BEFORE]).apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to today's schema for the tests after


def test_users_waiting_at_the_upgrade_get_the_days_from_then_on(at_0012, settings):
    settings.FACESITE_TWO_STEP_SETUP_DAYS = 7
    User = at_0012.get_model("auth", "User")
    Authenticator = at_0012.get_model("backoffice", "Authenticator")
    long_ago = timezone.now() - timedelta(days=400)
    User.objects.create(username="waiting", is_staff=True, date_joined=long_ago)
    ready = User.objects.create(username="ready", is_staff=True, date_joined=long_ago)
    Authenticator.objects.create(user=ready, secret_encrypted="sealed")

    executor = MigrationExecutor(connection)
    executor.migrate([AFTER])
    SetupDeadline = executor.loader.project_state([AFTER]).apps.get_model("backoffice", "SetupDeadline")
    deadlines = {d.user.username: d.until for d in SetupDeadline.objects.select_related("user")}
    assert list(deadlines) == ["waiting"], "the user with an authenticator is given no days"
    assert timedelta(days=6.9) < deadlines["waiting"] - timezone.now() <= timedelta(days=7)
