"""Real Celery worker processes for tests that must kill one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """A URL for the test database this process is using, for child processes."""
    cfg = connection.settings_dict
    if cfg["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{cfg['NAME']}"
    auth = cfg["USER"] + (f":{cfg['PASSWORD']}" if cfg["PASSWORD"] else "")
    if socket_dir := cfg["OPTIONS"].get("host"):  # a server on a Unix socket (tests/pgvector_server.py)
        return f"postgres://{auth}@/{cfg['NAME']}?host={socket_dir}"
    return f"postgres://{auth}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}"


def child_env(*, media_root: Path, engine_options: dict | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="facesite.settings",
        DATABASE_URL=database_url(),
        DATABASE_CONN_MAX_AGE="0",
        REDIS_URL=settings.CELERY_BROKER_URL,
        FACESITE_MEDIA_ROOT=str(media_root),
        RECOGNITION_ENGINE="fake",
        RECOGNITION_ENGINE_OPTIONS=json.dumps(engine_options or {}),
        PYTHONUNBUFFERED="1",
        # What this test process was told, the child must know too: the networks its receivers run in,
        # and the key the endpoints' secrets are encrypted with.
        FACESITE_URL_FETCH_ALLOWED_NETWORKS=",".join(settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS),
        FACESITE_SECRETS_KEY=settings.FACESITE_SECRETS_KEY,
    )
    env.update(extra)
    return env


def empty_queues() -> int:
    """Drop the messages earlier tests left in the broker (tests that queue work with no worker running),
    so that a test watching the order of its own work sees only its own; how many there were."""
    from celery import current_app

    return current_app.control.purge()


def stop_groups(processes: list[subprocess.Popen], *, grace: float) -> None:
    """SIGTERM each process started in a session of its own, with its whole group (a worker's pool processes,
    gunicorn's workers), all at once; SIGKILL the groups of those not ended within ``grace`` seconds."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in running:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


class CeleryProcess:
    """A ``celery`` command of this project, in its own process group, its output in ``log_path``."""

    def __init__(self, arguments: list[str], *, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "facesite", *arguments], cwd=ROOT, env=env, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def kill_hard(self) -> None:
        """SIGKILL the main process and its pool children at once, as a machine crash or OOM kill would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        stop_groups([self.process], grace=20)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class WorkerProcess(CeleryProcess):
    """``celery worker`` with a prefork pool, consuming every queue, or only the ``queues`` given (so that no
    message an earlier test left, a sweep say, runs in the middle of what a test watches)."""

    def __init__(
        self, *, env: dict[str, str], log_path: Path, concurrency: int = 1, queues: tuple[str, ...] = ()
    ) -> None:
        self.name = f"test-{uuid.uuid4().hex[:8]}"  # its node name is this, "@" and the host's name
        super().__init__(
            ["worker", "--pool", "prefork", "--concurrency", str(concurrency), "--loglevel", "INFO",
             "--without-gossip", "--without-mingle", "-n", f"{self.name}@%h",
             *(["-Q", ",".join(queues)] if queues else [])],
            env=env, log_path=log_path,
        )  # fmt: skip


class BeatProcess(CeleryProcess):
    """``celery beat``: the sweepers on their schedule."""

    def __init__(self, *, env: dict[str, str], log_path: Path):
        schedule = log_path.with_suffix(".schedule")
        super().__init__(["beat", "--loglevel", "INFO", "--schedule", str(schedule)], env=env, log_path=log_path)
