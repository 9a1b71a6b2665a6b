"""Settings come from the environment and refuse bad values loudly."""

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from facesite import env
from tests.workers import ROOT


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("off", False), ("", False)])
def test_env_bool_reads_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env.env_bool("X_FLAG", not expected) is expected


def test_env_bool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG='maybe' is not a boolean"):
        env.env_bool("X_FLAG", False)


def test_env_int_refuses_words_and_out_of_range(monkeypatch):
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env.env_int("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "0")
    with pytest.raises(ImproperlyConfigured, match="below the minimum 1"):
        env.env_int("X_NUM", 1, minimum=1)


def test_env_json_object_must_be_an_object(monkeypatch):
    monkeypatch.setenv("X_JSON", "[1, 2]")
    with pytest.raises(ImproperlyConfigured, match="must be a JSON object"):
        env.env_json_object("X_JSON", {})


def load_settings(code: str = "print(settings.DATABASES['default']['ENGINE'])", **variables):
    """Start a fresh interpreter with only these variables, load settings, run ``code``."""
    code = "import django; django.setup(); from django.conf import settings; " + code
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "facesite.settings", **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variables", "days"),
    [
        ({}, 0),
        ({"FACESITE_RETAIN_IMAGES_DAYS": "90"}, 90),
        ({"FACESITE_RETAIN_IMAGES_DAYS": "90", "FACESITE_RETAIN_VIDEOS_DAYS": "7"}, 7),
    ],
)
def test_videos_are_kept_as_long_as_images_unless_told_otherwise(tmp_path, variables, days):
    result = load_settings("print(settings.FACESITE_RETENTION['videos'])", FACESITE_VAR_DIR=str(tmp_path), **variables)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(days)


def test_defaults_are_embedded(tmp_path):
    result = load_settings(FACESITE_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0, "the generated secret is private"


def test_database_url_switches_to_postgresql(tmp_path):
    result = load_settings(FACESITE_VAR_DIR=str(tmp_path), DATABASE_URL="postgres://u@db.example:5432/facesite")
    assert result.stdout.strip() == "django.db.backends.postgresql"


@pytest.mark.parametrize(("max_age", "kept"), [(None, True), ("0", False)])
def test_an_sqlite_connection_outlives_a_request_unless_told_not_to(tmp_path, max_age, kept):
    # A table of one connection only: it is still there after a request (or task) ends only if the
    # connection is, instead of a new one that opens, sets its pragmas and checkpoints again on every request.
    code = """
from django.db import DatabaseError, close_old_connections, connection
connection.cursor().execute("CREATE TEMP TABLE marker (x)")
close_old_connections()  # what Django does after each request, and Celery after each task
try:
    connection.cursor().execute("SELECT * FROM marker")
    print("kept")
except DatabaseError:
    print("reopened")
"""
    variables = {"FACESITE_VAR_DIR": str(tmp_path)} | ({"DATABASE_CONN_MAX_AGE": max_age} if max_age else {})
    result = load_settings(code, **variables)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("kept" if kept else "reopened")


@pytest.mark.parametrize(("variables", "on"), [({}, True), ({"FACESITE_TASK_EVENTS": "false"}, False)])
def test_task_events_for_flower_follow_one_switch(tmp_path, variables, on):
    # Sent when a task is queued, sent by workers as they run it, and asked for by Flower: all or none.
    code = """
import flowerconfig
from facesite.celery import app
print(app.conf.task_send_sent_event, app.conf.worker_send_task_events, flowerconfig.enable_events)
"""
    result = load_settings(code, FACESITE_VAR_DIR=str(tmp_path), **variables)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(on)] * 3


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"FACESITE_MATCH_THRESHOLD": "eighty"}, "FACESITE_MATCH_THRESHOLD='eighty' is not a number"),
        ({"FACESITE_MATCH_THRESHOLD": "101"}, "above the maximum 100"),
        ({"RECOGNITION_ENGINE": "magic"}, "RECOGNITION_ENGINE='magic' is not one of"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL='localhost:6379' must be a URL"),
        ({"FACESITE_STORAGE": "s3"}, "FACESITE_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME"),
        (
            {"FACESITE_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "faces", "AWS_S3_SSE": "des"},
            "AWS_S3_SSE='des' is not one of: none, aes256, aws:kms",
        ),
        (
            {"FACESITE_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "faces", "AWS_S3_SSE_KMS_KEY_ID": "k"},
            "AWS_S3_SSE_KMS_KEY_ID is set but AWS_S3_SSE is not aws:kms",
        ),
        ({"CELERY_VISIBILITY_TIMEOUT": "120"}, "CELERY_VISIBILITY_TIMEOUT must be longer than CELERY_TASK_TIME_LIMIT"),
        ({"FACESITE_CA_BUNDLE": "/etc/our-ca.pem"}, "/etc/our-ca.pem is not a readable PEM file of certificates"),
        ({"FACESITE_CA_BUNDLE": "/etc/passwd"}, "/etc/passwd is not a readable PEM file of certificates"),
        ({"FACESITE_KEYS_ONLY_ROLES": "Administrator, admins"}, "FACESITE_KEYS_ONLY_ROLES names admins: not a role"),
    ],
)
def test_bad_settings_stop_start_up_with_a_clear_message(tmp_path, variables, message):
    result = load_settings(FACESITE_VAR_DIR=str(tmp_path), **variables)
    assert result.returncode != 0
    assert message in result.stderr


def test_s3_storage_is_selected_by_setting(tmp_path):
    code = "from django.core.files.storage import storages; s = storages['default']; "
    code += "print(type(s).__name__, s.bucket_name, s.default_acl)"
    result = load_settings(code, FACESITE_VAR_DIR=str(tmp_path), FACESITE_STORAGE="s3", AWS_STORAGE_BUCKET_NAME="faces")
    assert result.stdout.split() == ["S3Storage", "faces", "private"], result.stderr


def test_s3_objects_are_encrypted_as_the_settings_say(tmp_path):
    code = "from django.core.files.storage import storages; print(storages['default'].object_parameters)"
    s3 = {"FACESITE_VAR_DIR": str(tmp_path), "FACESITE_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "faces"}
    assert load_settings(code, **s3).stdout.strip() == "{}", "the bucket's own default"
    sse_kms = load_settings(code, **s3, AWS_S3_SSE="aws:kms", AWS_S3_SSE_KMS_KEY_ID="alias/faces").stdout.strip()
    assert sse_kms == "{'ServerSideEncryption': 'aws:kms', 'SSEKMSKeyId': 'alias/faces'}"


def test_the_embedded_data_and_keys_are_owner_only_from_the_start(tmp_path):
    var = tmp_path / "var"
    result = load_settings(FACESITE_VAR_DIR=str(var))
    assert result.returncode == 0, result.stderr
    assert var.stat().st_mode & 0o777 == 0o700
    for name in ("secret_key", "secrets_key", "facesite.sqlite3"):
        assert (var / name).stat().st_mode & 0o777 == 0o600, name
    again = load_settings("print(settings.SECRET_KEY, settings.FACESITE_SECRETS_KEY)", FACESITE_VAR_DIR=str(var))
    assert again.stdout.split() == [(var / "secret_key").read_text(), (var / "secrets_key").read_text()]


@pytest.mark.parametrize("domain", ["https://example.com", "example.com:443", "192.0.2.7", "example.com/admin"])
def test_the_security_key_domain_must_be_a_domain_name(tmp_path, domain):
    result = load_settings(FACESITE_VAR_DIR=str(tmp_path), FACESITE_WEBAUTHN_RP_ID=domain)
    assert result.returncode != 0 and "is not a domain name" in result.stderr


def test_the_security_key_domain_is_kept_in_lower_case(tmp_path):
    result = load_settings("print(settings.FACESITE_WEBAUTHN_RP_ID)", FACESITE_VAR_DIR=str(tmp_path),
                           FACESITE_WEBAUTHN_RP_ID=" Example.COM ")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "example.com"


@pytest.mark.parametrize(
    ("variables", "on"),
    [
        ({}, False),  # SMTP to localhost, which nobody set up: notices would only fail and be retried
        ({"EMAIL_HOST": ""}, False),  # as the compose file passes it when unset
        ({"EMAIL_HOST": "smtp.example.org"}, True),
        ({"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}, True),
        ({"EMAIL_HOST": "smtp.example.org", "FACESITE_SECURITY_NOTICES": "false"}, False),
    ],
)
def test_security_notices_are_on_where_e_mail_is_set_up(tmp_path, variables, on):
    result = load_settings("print(settings.FACESITE_SECURITY_NOTICES)", FACESITE_VAR_DIR=str(tmp_path), **variables)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(on)


def test_the_roles_that_sign_in_with_keys_only_are_named_in_any_case(tmp_path):
    result = load_settings("print(settings.FACESITE_KEYS_ONLY_ROLES)", FACESITE_VAR_DIR=str(tmp_path),
                           FACESITE_KEYS_ONLY_ROLES="administrator, SUPERUSER")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['Administrator', 'superuser']"
