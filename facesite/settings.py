"""Facesite settings.

Everything a deployment changes comes from environment variables (read through
``facesite.env`` helpers, which refuse bad values). With no variables set, Facesite
runs on embedded defaults: SQLite and local files under ``var/``, the local
recognition engine, and Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from backoffice.roles import ADMINISTRATOR, OPERATOR, REVIEWER
from facesite.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_json_object,
    env_list,
    env_secret,
    env_str,
    env_url,
    private_file,
    redis_database,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FACESITE_VAR_DIR", str(BASE_DIR / "var")))
# The embedded database, files and keys live here: owner-only, so nobody else on the machine reads them.
VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)


# Embedded defaults: random keys created once and kept beside the data, so sessions, tokens
# and encrypted secrets survive restarts without anyone having to invent one.
SECRET_KEY = env_secret("DJANGO_SECRET_KEY", kept_in=VAR_DIR / "secret_key")
# Encrypts the endpoints' signing secrets at rest. Separate from SECRET_KEY, so that a leaked
# SECRET_KEY (it signs sessions and is often widely shared) does not also unlock them.
FACESITE_SECRETS_KEY = env_secret("FACESITE_SECRETS_KEY", kept_in=VAR_DIR / "secrets_key")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# --- Deployment security (docs/SECURITY.md) --------------------------------------------
# Served over HTTPS, as in production: cookies only over TLS, HSTS. `make run` (plain http on
# 127.0.0.1) turns this off; nothing else should.
FACESITE_HTTPS = env_bool("FACESITE_HTTPS", True)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = FACESITE_HTTPS
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_AGE = env_int("FACESITE_SESSION_SECONDS", 8 * 3600, minimum=300)  # a working day
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_HSTS_SECONDS = env_int("FACESITE_HSTS_SECONDS", 365 * 24 * 3600 if FACESITE_HTTPS else 0, minimum=0)
SECURE_SSL_REDIRECT = env_bool("FACESITE_SSL_REDIRECT", False)  # usually the proxy's job
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes and scrapers call over plain http
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("FACESITE_BEHIND_PROXY", False) else None
SECURE_REFERRER_POLICY = "same-origin"
# Scripts, styles, pictures and connections from the site only, no inline script or style; pictures also as
# data: and blob: addresses (the kiosk's camera frames); no plugins, no framing.
FACESITE_CONTENT_SECURITY_POLICY = env_str(
    "FACESITE_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)
# The same under /api/, but style attributes may be inline (DRF's browsable API sets them in its forms); no
# <style> element, inline script or other page's style is let in there either.
FACESITE_API_CONTENT_SECURITY_POLICY = env_str(
    "FACESITE_API_CONTENT_SECURITY_POLICY",
    FACESITE_CONTENT_SECURITY_POLICY.replace("style-src 'self';", "style-src 'self'; style-src-attr 'unsafe-inline';"),
)
X_FRAME_OPTIONS = "DENY"
# Brute force: failed sign-ins per user name and address, and failed API tokens per address.
FACESITE_LOGIN_FAILURES = env_int("FACESITE_LOGIN_FAILURES", 5, minimum=1)
FACESITE_TOKEN_FAILURES = env_int("FACESITE_TOKEN_FAILURES", 20, minimum=1)
FACESITE_LOCKOUT_SECONDS = env_int("FACESITE_LOCKOUT_SECONDS", 15 * 60, minimum=1)
# API tokens stop working this long after they were made (0: never); `drf_create_token -r` renews one.
FACESITE_TOKEN_MAX_AGE = env_int("FACESITE_TOKEN_MAX_AGE", 90 * 24 * 3600, minimum=0)
# Two-step sign-in (backoffice.two_step): a code from an authenticator app after the password. Required of every
# back-office user when on; when off, only of those who set one up.
FACESITE_TWO_STEP_REQUIRED = env_bool("FACESITE_TWO_STEP_REQUIRED", True)
FACESITE_TWO_STEP_ISSUER = env_str("FACESITE_TWO_STEP_ISSUER", "Facesite")  # the name authenticator apps show
# Where it is required, a user without an authenticator sets one up with their password alone: for this many days
# after they joined or an administrator reset theirs, not for ever (0: no limit).
FACESITE_TWO_STEP_SETUP_DAYS = env_int("FACESITE_TWO_STEP_SETUP_DAYS", 7, minimum=0)
# Security keys and passkeys (WebAuthn) are bound to a domain: by default the host the back office is opened by.
# Set it where the back office answers to several names under one domain (keys made on one work on all).
FACESITE_WEBAUTHN_RP_ID = env_str("FACESITE_WEBAUTHN_RP_ID", "").strip().lower()
if FACESITE_WEBAUTHN_RP_ID and not re.fullmatch(r"(?=.*[a-z])[a-z0-9-]+(\.[a-z0-9-]+)*", FACESITE_WEBAUTHN_RP_ID):
    raise ImproperlyConfigured(
        f"FACESITE_WEBAUTHN_RP_ID={FACESITE_WEBAUTHN_RP_ID!r} is not a domain name (as example.com: no scheme, port "
        "or path, and not an IP address, which browsers refuse for security keys)."
    )
# Roles whose users sign in with security keys only (codes refused, and held at their two-step page until they
# add a key): any of the role names, and "superuser" for Django's superusers. None by default.
_KEYS_ONLY_NAMES = {name.lower(): name for name in (ADMINISTRATOR, OPERATOR, REVIEWER, "superuser")}
FACESITE_KEYS_ONLY_ROLES = env_list("FACESITE_KEYS_ONLY_ROLES", [])
if unknown := [role for role in FACESITE_KEYS_ONLY_ROLES if role.lower() not in _KEYS_ONLY_NAMES]:
    raise ImproperlyConfigured(
        f"FACESITE_KEYS_ONLY_ROLES names {', '.join(unknown)}: not a role. Name any of "
        f"{', '.join(_KEYS_ONLY_NAMES.values())}, separated by commas."
    )
FACESITE_KEYS_ONLY_ROLES = [_KEYS_ONLY_NAMES[role.lower()] for role in FACESITE_KEYS_ONLY_ROLES]
AUTHENTICATION_BACKENDS = ["backoffice.auth.LockoutModelBackend"]

INSTALLED_APPS = [
    # Before the admin, so that its admin/index.html (the dashboard) takes precedence.
    "backoffice",
    "backoffice.apps.FacesiteAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "recognition",
    "integrations",
    "rekognition_api",
    "kiosk",
    "videos",
]

MIDDLEWARE = [
    "facesite.logs.RequestIdMiddleware",  # first: everything logged while answering carries the request's id
    "facesite.logs.AccessLogMiddleware",  # the access log: every answer, refused ones (413, 403) too
    "django.middleware.security.SecurityMiddleware",
    "facesite.middleware.ContentSecurityPolicyMiddleware",
    # Before anything can read a body: 413 for one larger than any request may be.
    "facesite.middleware.BodySizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "facesite.middleware.AuditCredentialMiddleware",  # audit rows name the API token a request came with
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "facesite.urls"
WSGI_APPLICATION = "facesite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{VAR_DIR / 'facesite.sqlite3'}",
    schemes=("sqlite", "postgres", "postgresql", "pgsql"),
)
DATABASES = {"default": environ.Env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    private_file(Path(DATABASES["default"]["NAME"]))  # biometric data: owner-only from the first byte
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The worker and the web process write concurrently; wait for the lock
    # instead of failing at once, and keep the test database in a file so a
    # worker in another process can reach it.
    # Write-ahead logging: readers never wait for the writer, and a commit costs one sync, not two.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-facesite.sqlite3")}
# Each process keeps its connection between requests and tasks (checked before use): on SQLite too, where
# opening one sets the pragmas above and closing the last one checkpoints the log, on every request.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = Path(env_str("FACESITE_MEDIA_ROOT", str(VAR_DIR / "media")))

STORAGE_BACKEND = env_choice("FACESITE_STORAGE", "local", ("local", "s3"))
if STORAGE_BACKEND == "s3":
    _default_storage: dict[str, Any] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME", ""),
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
            "location": env_str("AWS_S3_LOCATION", "facesite"),
            # Biometric data: never public, never overwritten in place.
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
    if not _default_storage["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("FACESITE_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.")
    # Server-side encryption of every object written: none (the bucket's default applies), SSE-S3
    # ("AES256") or SSE-KMS ("aws:kms", with AWS_S3_SSE_KMS_KEY_ID or the account's default key).
    _sse = {"none": "", "aes256": "AES256", "aws:kms": "aws:kms"}[
        env_choice("AWS_S3_SSE", "none", ("none", "aes256", "aws:kms"))
    ]
    _kms_key = env_str("AWS_S3_SSE_KMS_KEY_ID", "")
    if _kms_key and _sse != "aws:kms":
        raise ImproperlyConfigured("AWS_S3_SSE_KMS_KEY_ID is set but AWS_S3_SSE is not aws:kms.")
    _default_storage["OPTIONS"]["object_parameters"] = ({"ServerSideEncryption": _sse} if _sse else {}) | (
        {"SSEKMSKeyId": _kms_key} if _kms_key else {}
    )
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # Images are served only through the authenticated API, never as public media.
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Uploads ----------------------------------------------------------------------
FACESITE_MAX_UPLOAD_BYTES = env_int("FACESITE_MAX_UPLOAD_BYTES", 15 * 1024 * 1024, minimum=1024)
# Pillow's own default is ~179 Mpx; a face back office has no use for that much.
# Faces are detected on at most 1024 px a side and labels on 224: a 24 Mpx photo (6000×4000, 72 MB
# decoded) is already more than analysis uses. Larger pictures cost memory and time, and a tiny file
# that declares many pixels is a decompression bomb.
# At most twice Pillow's own limit (2 × 89,478,485), above which Pillow refuses to open a picture at all.
FACESITE_MAX_IMAGE_PIXELS = env_int("FACESITE_MAX_IMAGE_PIXELS", 24_000_000, minimum=10_000, maximum=178_956_970)
# MPO: multi-picture JPEG from phones and stereo cameras; its first picture is the photo.
FACESITE_ALLOWED_IMAGE_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF")
# Fetching images from URLs (in the worker): overall time limit, and networks that may
# be fetched from although private (e.g. an internal camera server), CIDR, comma-separated.
FACESITE_URL_FETCH_TIMEOUT = env_float("FACESITE_URL_FETCH_TIMEOUT", 30.0, minimum=1)
FACESITE_URL_FETCH_ALLOWED_NETWORKS = env_list("FACESITE_URL_FETCH_ALLOWED_NETWORKS", [])
# A PEM file of certificate authorities that outgoing HTTPS (endpoints, image URLs) trusts beside the public
# ones certifi ships: for receivers and servers whose certificates your own authority signs.
FACESITE_CA_BUNDLE = env_str("FACESITE_CA_BUNDLE", "")
if FACESITE_CA_BUNDLE:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=FACESITE_CA_BUNDLE)
    except (OSError, ssl.SSLError) as _exc:
        raise ImproperlyConfigured(
            f"FACESITE_CA_BUNDLE: {FACESITE_CA_BUNDLE} is not a readable PEM file of certificates ({_exc})."
        ) from _exc
# Who may read /metrics: clients in these networks (CIDR, comma-separated; empty: none), or anyone with
# "Authorization: Bearer <FACESITE_METRICS_TOKEN>" when a token is set.
FACESITE_METRICS_ALLOWED_NETWORKS = env_list("FACESITE_METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
FACESITE_METRICS_TOKEN = env_str("FACESITE_METRICS_TOKEN", "")
for _network in FACESITE_METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"FACESITE_METRICS_ALLOWED_NETWORKS: {_exc}") from _exc
# Django's own cap on bodies read into memory, behind facesite.middleware's 413: base64 in JSON is
# about 4/3 of the file; leave room for it and a few fields.
DATA_UPLOAD_MAX_MEMORY_SIZE = FACESITE_MAX_UPLOAD_BYTES * 4 // 3 + 64 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_PERMISSIONS = 0o600  # stored images and crops: owner-only
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# --- Recognition --------------------------------------------------------------------
REKOGNITION_QUALITY_FILTERS = ("none", "auto", "low", "medium", "high")
RECOGNITION_ENGINES = {
    "local": "recognition.engines.local.LocalEngine",
    "rekognition": "recognition.engines.rekognition.RekognitionEngine",
    "fake": "recognition.engines.fake.FakeEngine",
}
DEFAULT_ENGINE = "local"  # offline models from pip packages; "fake" is for tests
_ENGINE = env_choice("RECOGNITION_ENGINE", DEFAULT_ENGINE, tuple(RECOGNITION_ENGINES))
# Amazon Rekognition (docs/REKOGNITION.md). Credentials come only from boto3's own chain (environment,
# profile, instance role), never from here; AWS_ENDPOINT_URL_REKOGNITION points boto3 elsewhere.
_REKOGNITION_PREFIX = env_str("FACESITE_REKOGNITION_COLLECTION_PREFIX", "facesite-")
REKOGNITION_OPTIONS = {
    "region": env_str("FACESITE_REKOGNITION_REGION", "") or None,  # None: boto3's AWS_REGION / profile
    "collection_prefix": _REKOGNITION_PREFIX,
    "quality_filter": env_choice("FACESITE_REKOGNITION_QUALITY_FILTER", "auto", REKOGNITION_QUALITY_FILTERS).upper(),
    "text_min_confidence": env_float("FACESITE_REKOGNITION_TEXT_MIN_CONFIDENCE", 0.0, minimum=0, maximum=100) or None,
    "connect_timeout": env_float("FACESITE_REKOGNITION_CONNECT_TIMEOUT", 5.0, minimum=0.1),
    "read_timeout": env_float("FACESITE_REKOGNITION_READ_TIMEOUT", 30.0, minimum=0.1),
    "max_attempts": env_int("FACESITE_REKOGNITION_MAX_ATTEMPTS", 4, minimum=1, maximum=20),
    # Stored-video face search (videos in S3): how often to ask whether it is done.
    "video_poll_seconds": env_float("FACESITE_REKOGNITION_VIDEO_POLL_SECONDS", 10.0, minimum=0.1),
}
if not re.fullmatch(r"[a-zA-Z0-9_.\-]*", _REKOGNITION_PREFIX):
    raise ImproperlyConfigured(
        "FACESITE_REKOGNITION_COLLECTION_PREFIX may hold only letters, digits, '_', '.' and '-'."
    )
# The Rekognition-compatible API reads S3Object images from this S3 (AWS, or a compatible server).
REKOGNITION_API_S3 = {
    "endpoint_url": env_str("FACESITE_REKOGNITION_API_S3_ENDPOINT_URL", env_str("AWS_S3_ENDPOINT_URL", "")) or None,
    "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
}
# ... from these buckets only ("*": any): it reads with Facesite's own credentials, so without a list a caller could
# have it read whatever those credentials can, Facesite's own media included. None by default: S3Object refused.
FACESITE_REKOGNITION_API_S3_BUCKETS = env_list("FACESITE_REKOGNITION_API_S3_BUCKETS", [])
RECOGNITION_ENGINE = {
    "BACKEND": RECOGNITION_ENGINES[_ENGINE],
    "OPTIONS": {
        **(REKOGNITION_OPTIONS if _ENGINE == "rekognition" else {}),
        **env_json_object("RECOGNITION_ENGINE_OPTIONS", {}),
    },
}
# Searching enrolled faces (engines that compute embeddings; docs/SEARCH.md). "memory": an exact index in
# each process, caught up from a change log; "pgvector": the database searches (HNSW), no per-process copy;
# "auto": pgvector where the migration could install it (PostgreSQL with the vector extension), else memory.
FACESITE_FACE_SEARCH = {
    "BACKEND": env_choice("FACESITE_FACE_SEARCH", "auto", ("auto", "memory", "pgvector")),
    # Candidates HNSW keeps while searching: higher finds the true nearest more often, a little slower.
    "EF_SEARCH": env_int("FACESITE_FACE_SEARCH_EF", 200, minimum=1, maximum=1000),
    # Compare with every enrolled face instead of walking the HNSW graph (exact; fine for small collections).
    "EXACT": env_bool("FACESITE_FACE_SEARCH_EXACT", False),
}
FACESITE_DEFAULT_COLLECTION = env_str("FACESITE_DEFAULT_COLLECTION", "default")
FACESITE_DEFAULT_FEATURES = ("labels", "faces", "moderation")
FACESITE_LABEL_MIN_CONFIDENCE = env_float("FACESITE_LABEL_MIN_CONFIDENCE", 50.0, minimum=0, maximum=100)
FACESITE_MODERATION_MIN_CONFIDENCE = env_float("FACESITE_MODERATION_MIN_CONFIDENCE", 50.0, minimum=0, maximum=100)
# A reference (enrolled) face must be at least this big (shorter side, pixels) and sharp (0–100).
FACESITE_ENROL_MIN_FACE_PIXELS = env_int("FACESITE_ENROL_MIN_FACE_PIXELS", 60, minimum=1)
FACESITE_ENROL_MIN_SHARPNESS = env_float("FACESITE_ENROL_MIN_SHARPNESS", 20.0, minimum=0, maximum=100)
# Where consent is the legal basis for keeping a person's face (GDPR art. 9(2)(a)): no reference face for a
# person whose consent is not on record (consent_given_at), by enrolment or by giving them faces.
FACESITE_ENROL_REQUIRES_CONSENT = env_bool("FACESITE_ENROL_REQUIRES_CONSENT", False)
# Erasing a person also deletes the analysed images in which they are the only face.
FACESITE_ERASE_SOLE_SUBJECT_IMAGES = env_bool("FACESITE_ERASE_SOLE_SUBJECT_IMAGES", False)
# How many days each kind of data is kept (0: until someone deletes it); a daily purge removes the rest
# (recognition/services/retention.py). People unseen for three years are erased, as Illinois' BIPA requires.
_images_days = env_int("FACESITE_RETAIN_IMAGES_DAYS", 0, minimum=0)
FACESITE_RETENTION = {
    "images": _images_days,
    "videos": env_int("FACESITE_RETAIN_VIDEOS_DAYS", _images_days, minimum=0),  # frames are images: as long
    "unmatched_faces": env_int("FACESITE_RETAIN_UNMATCHED_FACES_DAYS", 0, minimum=0),
    "verifications": env_int("FACESITE_RETAIN_VERIFICATIONS_DAYS", 0, minimum=0),
    "people_unseen": env_int("FACESITE_RETAIN_PEOPLE_UNSEEN_DAYS", 3 * 365, minimum=0),
    # Subject access exports made in the background: a zip of someone's faces is not kept for good.
    "exports": env_int("FACESITE_RETAIN_EXPORTS_DAYS", 7, minimum=1),
}
FACESITE_PURGE_HOUR = env_int("FACESITE_PURGE_HOUR", 3, minimum=0, maximum=23)  # daily, in TIME_ZONE

# --- Watch list and e-mail --------------------------------------------------------------
# Who is e-mailed when a watched person is identified or an unknown face appears in a watched collection
# (comma-separated addresses; none: no e-mail, the person.watched event still goes to endpoints).
FACESITE_WATCH_EMAILS = env_list("FACESITE_WATCH_EMAILS", [])
FACESITE_WATCH_REPEAT_SECONDS = env_int("FACESITE_WATCH_REPEAT_SECONDS", 600, minimum=0)
# Where people reach this site, for links in e-mails.
FACESITE_PUBLIC_URL = env_url("FACESITE_PUBLIC_URL", "http://127.0.0.1:8000", schemes=("http", "https"))
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "facesite@localhost")
# E-mail a user (at their own address) when their two-step sign-in changes or a recovery code is used
# (backoffice.notices), so that one who did not do it knows at once. On where e-mail is set up: an EMAIL_HOST
# given, or a backend other than SMTP (make run prints e-mails in the io worker's log).
FACESITE_SECURITY_NOTICES = env_bool(
    "FACESITE_SECURITY_NOTICES",
    bool(os.environ.get("EMAIL_HOST")) or EMAIL_BACKEND != "django.core.mail.backends.smtp.EmailBackend",
)
FACESITE_MATCH_THRESHOLD = env_float("FACESITE_MATCH_THRESHOLD", 80.0, minimum=0, maximum=100)
FACESITE_REVIEW_THRESHOLD = env_float("FACESITE_REVIEW_THRESHOLD", 60.0, minimum=0, maximum=100)
if FACESITE_REVIEW_THRESHOLD > FACESITE_MATCH_THRESHOLD:
    raise ImproperlyConfigured("FACESITE_REVIEW_THRESHOLD must not be above FACESITE_MATCH_THRESHOLD.")
# A subject access export made in a web request (admin, API) holds at most this many sightings: each is a crop
# cut from its photo (2 ms from a 640x480 frame, 16 ms from 1080p, 100 ms from a 12 Mpx photo, on the 2-core
# machines we measure on), and the web server ends a request after 60 s. Larger ones: manage.py export_person.
FACESITE_EXPORT_WEB_MAX_SIGHTINGS = env_int("FACESITE_EXPORT_WEB_MAX_SIGHTINGS", 500, minimum=1)
# Videos (videos/): limits, and how densely and in what parts they are analysed.
FACESITE_VIDEO_MAX_BYTES = env_int("FACESITE_VIDEO_MAX_BYTES", 500 * 1024 * 1024, minimum=1)
FACESITE_VIDEO_MAX_SECONDS = env_float("FACESITE_VIDEO_MAX_SECONDS", 3 * 3600, minimum=1)
# The largest picture, width × height, decoded from a video or a camera: 8K (8192 × 4320). Larger ones are refused.
FACESITE_VIDEO_MAX_PIXELS = env_int("FACESITE_VIDEO_MAX_PIXELS", 8192 * 4320, minimum=1)
FACESITE_VIDEO_SAMPLE_RATE = env_float("FACESITE_VIDEO_SAMPLE_RATE", 2.0, minimum=0.1, maximum=30)
FACESITE_VIDEO_CHUNK_SECONDS = env_float("FACESITE_VIDEO_CHUNK_SECONDS", 60.0, minimum=1)
# Decode keyframes only: several times faster, for footage whose keyframes come at least as often as the sampling.
FACESITE_VIDEO_KEYFRAMES_ONLY = env_bool("FACESITE_VIDEO_KEYFRAMES_ONLY", False)
FACESITE_VIDEO_FETCH_TIMEOUT = env_float("FACESITE_VIDEO_FETCH_TIMEOUT", 600.0, minimum=1)
# Video tasks run longer than image analysis (a URL fetched, a chunk, Rekognition's job on a whole video):
# their own hard time limit, and the age past which the sweeper takes a claimed chunk for a dead worker's.
FACESITE_VIDEO_TASK_TIME_LIMIT = env_int("FACESITE_VIDEO_TASK_TIME_LIMIT", 3 * 3600, minimum=60)
FACESITE_VIDEO_STALE_AFTER = FACESITE_VIDEO_TASK_TIME_LIMIT + 60
# The false-match rate a suggested threshold keeps to (calibration); 0.001 is 0.1 %.
FACESITE_CALIBRATION_TARGET_FMR = env_float("FACESITE_CALIBRATION_TARGET_FMR", 0.001, minimum=1e-6, maximum=0.5)

# --- Celery -------------------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss", "unix"))
# Rate limits (and anything else cached) live in Redis, so they hold across every web process.
# By default the next database of the broker's Redis, so flushing one leaves the other alone.
CACHE_URL = env_url("CACHE_URL", redis_database(REDIS_URL, 1), schemes=("redis", "rediss", "unix"))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "facesite",
    }
}
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None  # results live in the database, not in task results
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery closes every database connection before and after each task (on PostgreSQL, a new server process
# for every task) unless this is set, and then only every this many tasks: facesite/celery.py keeps tasks'
# connections for DATABASE_CONN_MAX_AGE instead, as Django keeps requests'.
CELERY_DB_REUSE_MAX = 1000
# Each worker pool process loads the engine's models before it takes a task (facesite/celery.py), so the
# first image after a start does not wait for them; the loading may take longer than Celery's default 4 s
# wait for a new pool process (a first start on a slow machine also builds the models model_cache.py keeps).
FACESITE_WORKER_PRELOAD = env_bool("FACESITE_WORKER_PRELOAD", True)
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 120
# Workers run this much nicer than the web (0: not at all), so uploads and door checks answer at once while
# analysis keeps the cores busy (facesite/celery.py).
FACESITE_WORKER_NICE = env_int("FACESITE_WORKER_NICE", 10, minimum=0, maximum=19)
# Queues by kind of work (recognition/services/queue.py names them); a worker started without -Q consumes
# them all, round robin, so a backlog in one never starves another.
CELERY_TASK_QUEUES = [Queue(name) for name in ("analysis", "text", "deliveries", "maintenance", "video")]
CELERY_TASK_DEFAULT_QUEUE = "analysis"
CELERY_TASK_ROUTES = {
    "integrations.tasks.send_delivery": {"queue": "deliveries"},
    "recognition.tasks.sweep_stuck_images": {"queue": "maintenance"},
    "integrations.tasks.sweep_deliveries": {"queue": "maintenance"},
    "recognition.tasks.purge_expired": {"queue": "maintenance"},
    "recognition.tasks.delete_files": {"queue": "maintenance"},
    "recognition.tasks.check_stray_files": {"queue": "maintenance"},
    "recognition.tasks.make_person_export": {"queue": "maintenance"},
    "recognition.tasks.send_watch_alert": {"queue": "deliveries"},
    "backoffice.tasks.send_security_notice": {"queue": "deliveries"},
    "videos.tasks.sweep_stuck_videos": {"queue": "maintenance"},
}
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30 if CELERY_TASK_TIME_LIMIT > 60 else CELERY_TASK_TIME_LIMIT - 5
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Task events are what Flower shows tasks live from: whoever queues a task says so (task-sent), the worker
# that runs it says so three times. Each is a message on Redis, together about 4 ms of CPU an image and its
# delivery (bench/README.md); where no one watches Flower's tasks, false saves that, and Flower then leaves
# the workers' events off too (flowerconfig.py) instead of turning them on every 5 s.
FACESITE_TASK_EVENTS = env_bool("FACESITE_TASK_EVENTS", True)
CELERY_WORKER_SEND_TASK_EVENTS = FACESITE_TASK_EVENTS
CELERY_TASK_SEND_SENT_EVENT = FACESITE_TASK_EVENTS
# An unacknowledged message (acks_late) comes back after this many seconds; it must
# be longer than the longest task or a slow task would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60),
}
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT must be longer than CELERY_TASK_TIME_LIMIT.")

# The sweeper re-enqueues images whose broker message was lost. A claim older
# than the hard time limit cannot belong to a live task, so it is safe to retake.
FACESITE_SWEEP_INTERVAL = env_int("FACESITE_SWEEP_INTERVAL", 60, minimum=1)
FACESITE_PENDING_RETRY_AFTER = env_int("FACESITE_PENDING_RETRY_AFTER", 300, minimum=1)
FACESITE_PROCESSING_STALE_AFTER = env_int("FACESITE_PROCESSING_STALE_AFTER", CELERY_TASK_TIME_LIMIT + 60, minimum=1)
FACESITE_ANALYSIS_MAX_ATTEMPTS = env_int("FACESITE_ANALYSIS_MAX_ATTEMPTS", 5, minimum=1)
# A subject access export made in the background (minutes of crops for someone seen thousands of times) may run
# until just before the broker would hand its unacknowledged message to another worker.
FACESITE_EXPORT_TIME_LIMIT = max(CELERY_TASK_TIME_LIMIT, CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] - 60)
if FACESITE_PROCESSING_STALE_AFTER <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("FACESITE_PROCESSING_STALE_AFTER must be longer than CELERY_TASK_TIME_LIMIT.")

CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-images": {
        "task": "recognition.tasks.sweep_stuck_images",
        "schedule": timedelta(seconds=FACESITE_SWEEP_INTERVAL),
    },
    "sweep-deliveries": {
        "task": "integrations.tasks.sweep_deliveries",
        "schedule": timedelta(seconds=FACESITE_SWEEP_INTERVAL),
    },
    "sweep-stuck-videos": {
        "task": "videos.tasks.sweep_stuck_videos",
        "schedule": timedelta(seconds=FACESITE_SWEEP_INTERVAL),
    },
    "retention-purge": {
        "task": "recognition.tasks.purge_expired",
        "schedule": crontab(hour=FACESITE_PURGE_HOUR, minute=17),
    },
}
# Every this many days (0: never), a task looks for stray files in storage, which no row names, and reports
# them in the log and on the dashboard; it deletes nothing (manage.py stray_files --delete does).
FACESITE_STRAY_CHECK_DAYS = env_int("FACESITE_STRAY_CHECK_DAYS", 7, minimum=0)
if FACESITE_STRAY_CHECK_DAYS:
    CELERY_BEAT_SCHEDULE["stray-files-check"] = {
        "task": "recognition.tasks.check_stray_files",
        "schedule": timedelta(days=FACESITE_STRAY_CHECK_DAYS),
    }

# --- Deliveries to third-party endpoints ------------------------------------------------
# Hosts endpoints may point at (empty: any host). Lower-case names, comma-separated.
FACESITE_ENDPOINT_ALLOWED_HOSTS = [h.lower() for h in env_list("FACESITE_ENDPOINT_ALLOWED_HOSTS", [])]
FACESITE_DELIVERY_MAX_AGE = env_int("FACESITE_DELIVERY_MAX_AGE", 72 * 3600, minimum=60)
FACESITE_DELIVERY_BACKOFF_BASE = env_float("FACESITE_DELIVERY_BACKOFF_BASE", 30.0, minimum=0.01)
FACESITE_DELIVERY_BACKOFF_MAX = env_float("FACESITE_DELIVERY_BACKOFF_MAX", 3600.0, minimum=1)
# No receiver's answer (Retry-After: 0, a date in the past) makes the sender retry sooner than this.
FACESITE_DELIVERY_BACKOFF_MIN = env_float("FACESITE_DELIVERY_BACKOFF_MIN", 5.0, minimum=0.01)
FACESITE_DELIVERY_MAX_ATTEMPTS = env_int("FACESITE_DELIVERY_MAX_ATTEMPTS", 50, minimum=1)
# Retries due within this many seconds are queued with a countdown; later ones are
# picked up by the sweeper (Redis redelivers messages held past the visibility timeout).
FACESITE_DELIVERY_QUEUE_AHEAD = min(600, CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] // 2)
# A due delivery still waiting this long after its time lost its message: the sweeper queues it again.
FACESITE_DELIVERY_LOST_AFTER = env_int("FACESITE_DELIVERY_LOST_AFTER", 60, minimum=1)
# A connection to an endpoint stays open this many seconds after a delivery, for the next one (0: one
# connection a delivery).
FACESITE_DELIVERY_KEEP_ALIVE = env_float("FACESITE_DELIVERY_KEEP_ALIVE", 30.0, minimum=0)
FACESITE_DELIVERY_RESPONSE_EXCERPT = env_int("FACESITE_DELIVERY_RESPONSE_EXCERPT", 2000, minimum=0, maximum=100_000)

FLOWER_URL = env_str("FLOWER_URL", f"http://127.0.0.1:{env_int('FLOWER_PORT', 5555, minimum=1, maximum=65535)}/")

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "backoffice.auth.ExpiringTokenAuthentication",
        "backoffice.auth.TwoStepSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "recognition.api.common.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The application's errors (recognition.exceptions) become 400/409/422/503 answers in one place.
    "EXCEPTION_HANDLER": "recognition.api.errors.exception_handler",
    # Search, verify and compare run models synchronously: limit each user's rate.
    "DEFAULT_THROTTLE_RATES": {
        "sync": env_str("FACESITE_SYNC_RATE", "600/min"),
        "upload": env_str("FACESITE_UPLOAD_RATE", "120/min"),
        "enrol": env_str("FACESITE_ENROL_RATE", "30/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Facesite API",
    "DESCRIPTION": "Images in; labels, faces and identities out.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its UI describe every operation on biometric data: for signed-in users only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ImageStatusEnum": "recognition.models.Image.Status",
        "DeliveryStatusEnum": "integrations.models.Delivery.Status",
        "TextTypeEnum": [("LINE", "Line"), ("WORD", "Word")],
    },
    # A one-line summary for every operation, kept in one table, request bodies closed to other fields, and
    # the errors any operation may answer (recognition/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "recognition.api.schema.add_summaries",
        "recognition.api.schema.forbid_unknown_fields",
        "recognition.api.schema.document_common_errors",
    ],
    # Swagger UI from the drf-spectacular-sidecar package: no CDN, works air-gapped.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Door kiosks (docs/KIOSK.md) -----------------------------------------------------------
# This many unknown badges at one kiosk within the window (every refusal about a badge, at a kiosk that does not
# explain refusals) pause it until the oldest is a window old: someone typing numbers to find badges that
# exist is slowed to a few a minute, and each pause is audited.
FACESITE_KIOSK_UNKNOWN_BADGES = env_int("FACESITE_KIOSK_UNKNOWN_BADGES", 5, minimum=1)
FACESITE_KIOSK_PAUSE_SECONDS = env_int("FACESITE_KIOSK_PAUSE_SECONDS", 60, minimum=1, maximum=86_400)

# --- Logging ----------------------------------------------------------------------------
# Plain lines, or one JSON object a line for a log shipper; either way records carry the request's id
# (X-Request-ID) and the Celery task's id (facesite/logs.py).
FACESITE_LOG_FORMAT = env_choice("FACESITE_LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "facesite.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "facesite.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": FACESITE_LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
