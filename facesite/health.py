"""Is this process up, and can it do its work: ``/healthz`` and ``/readyz``.

``/healthz`` answers as long as the process serves requests (a liveness probe: restart it when this
fails). ``/readyz`` checks what a request needs besides the process: the database, Redis (the task
queues), the file storage and the recognition engine's models, and answers 503 naming what is down (a
readiness probe: send no traffic here until it passes). Neither needs authentication, and neither says
more than which part failed and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from recognition.engine_handler import get_engine

TIMEOUT = 2.0  # seconds a dependency may take to answer before it counts as down


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    ms: float
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "ms": self.ms} | ({"error": self.error} if self.error else {})


def database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def task_queue() -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT).ping()


def storage() -> None:
    default_storage.exists("readyz-probe")  # a stat of a local file, a HEAD request on S3


def engine() -> None:
    get_engine().ready()


CHECKS: dict[str, Callable[[], None]] = {
    "database": database,
    "redis": task_queue,
    "storage": storage,
    "engine": engine,
}


def run_checks() -> list[Check]:
    """Every check, each timed; one that raises is down, with its error."""
    results = []
    for name, check in CHECKS.items():
        start = time.perf_counter()
        try:
            check()
        except Exception as exc:  # whatever a dependency raises, it is down, and the probe says why
            error = f"{type(exc).__name__}: {exc}".strip()[:300]
            results.append(Check(name, False, _ms(start), error))
        else:
            results.append(Check(name, True, _ms(start)))
    return results


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    down = [c.name for c in checks if not c.ok]
    body = {
        "status": "unavailable" if down else "ok",
        "down": down,
        "checks": {c.name: c.as_dict() for c in checks},
    }
    return JsonResponse(body, status=503 if down else 200)
