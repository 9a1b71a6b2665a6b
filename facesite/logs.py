"""Logs that say which request or task they belong to, as plain lines or as JSON (``FACESITE_LOG_FORMAT``).

Every request gets an id: the caller's ``X-Request-ID`` when it is a sane token (a proxy's or a client's),
otherwise a new one; the answer carries it back in ``X-Request-ID``, and each log record written while
the request runs carries it as ``request_id``. Records written inside a Celery task carry the task's id
as ``task_id``. Every answered request is logged once on ``facesite.access``. With JSON logs, each record
is one line of JSON for a log shipper to parse.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from celery import current_task
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_request_id: ContextVar[str] = ContextVar("request_id", default="")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = offered if _SANE_ID.fullmatch(offered) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


access_logger = logging.getLogger("facesite.access")
# Probes and scrapers call every few seconds: their answers are logged at DEBUG, unless they fail.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class AccessLogMiddleware:
    """One record for each answered request: method, path (never its query, which may hold a badge number or
    a token), status, milliseconds, who was signed in and from where; with JSON logs, fields of their own
    under ``http``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)  # a token's user too: DRF sets it on this request
        fields = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - start) * 1000, 1),
            "user": user.get_username() if user is not None and user.is_authenticated else "",
            "client_ip": request.META.get("REMOTE_ADDR", ""),
        }
        quiet = request.path in QUIET_PATHS and response.status_code < 400
        access_logger.log(
            logging.DEBUG if quiet else logging.INFO,
            "%(method)s %(path)s %(status)s %(duration_ms)s ms (%(user)s from %(client_ip)s)",
            fields | {"user": fields["user"] or "anonymous"},
            extra={"http": fields},
        )
        return response


def current_request_id() -> str:
    """The id of the request being answered; empty outside one."""
    return _request_id.get()


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``task_id`` (empty outside a request or a task) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        task = current_task
        record.task_id = (task.request.id or "") if task else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id, task_id, and the
    exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", ""),
            "task_id": getattr(record, "task_id", ""),
            "process": record.process,
        }
        if http := getattr(record, "http", None):
            entry["http"] = http
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def json_worker_logs(logger: logging.Logger, **kwargs: Any) -> None:
    """For Celery's after_setup_logger signals: Celery sets up a worker's handlers itself, so with JSON
    logs its handlers take our formatter and filter."""
    from django.conf import settings

    if settings.FACESITE_LOG_FORMAT == "json":
        for handler in logger.handlers:
            handler.setFormatter(JsonFormatter())
            handler.addFilter(ContextFilter())
