"""Task events, which Flower shows tasks live from, follow FACESITE_TASK_EVENTS: off, a worker publishes none
and Flower does not ask for them, though a monitor still can (a real worker and Flower, heard on the real
broker as Flower hears it)."""

from __future__ import annotations

import threading

import pytest

from facesite.celery import app
from facesite.devredis import free_port
from tests.helpers import http_get, wait_for
from tests.workers import CeleryProcess, WorkerProcess, child_env, empty_queues

SWEEP = "recognition.tasks.sweep_stuck_images"  # quick, on the one queue the worker takes


class EventLog:
    """Every event published on the broker while it listens."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self._connection = app.connection_for_read()
        self._receiver = app.events.Receiver(self._connection, handlers={"*": self.events.append})
        self._thread = threading.Thread(target=self._receiver.capture, kwargs={"wakeup": False}, daemon=True)

    def __enter__(self) -> EventLog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._receiver.should_stop = True
        self._thread.join(10)
        self._connection.release()

    def heartbeats(self, worker: WorkerProcess) -> int:
        """How many times ``worker`` has said it is alive (every 2 s)."""
        return self.kinds(worker).count("worker-heartbeat")

    def kinds(self, worker: WorkerProcess) -> list[str]:
        """The kinds of event ``worker`` published, in order."""
        return [e["type"] for e in list(self.events) if e.get("hostname", "").startswith(f"{worker.name}@")]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_with_task_events_off_neither_a_worker_nor_flower_turns_them_on(media_root, tmp_path):
    env = child_env(media_root=media_root, FACESITE_TASK_EVENTS="false", FACESITE_WORKER_PRELOAD="false")
    port = free_port()
    empty_queues()  # a sweep another test left would run first, and count as ours
    with EventLog() as log:
        worker = WorkerProcess(env=env, log_path=tmp_path / "worker.log", queues=("maintenance",))
        flower = CeleryProcess(["flower", "--address=127.0.0.1", f"--port={port}"], env=env,
                               log_path=tmp_path / "flower.log")  # fmt: skip
        try:
            # Heard: its first word, or a heartbeat (every 2 s) should the listener have subscribed after it.
            wait_for(lambda: {"worker-online", "worker-heartbeat"} & set(log.kinds(worker)), timeout=60,
                     message=worker.log)  # fmt: skip
            wait_for(lambda: http_get(f"http://127.0.0.1:{port}/"), timeout=60, message=flower.log)
            app.send_task(SWEEP)
            wait_for(lambda: worker.log().count(f"{SWEEP}[") >= 2, timeout=30, message=worker.log)  # received, done
            # Flower, left to itself, asks for the events 5 s after it starts, and every 5 s; four more
            # heartbeats, 2 s apart, are more than 6 s after it answered.
            heartbeats = log.heartbeats(worker)
            wait_for(lambda: log.heartbeats(worker) >= heartbeats + 4, timeout=20)
            assert "enabled by remote" not in worker.log()
            assert not [kind for kind in log.kinds(worker) if kind.startswith("task-")]

            app.control.enable_events()  # what a monitor asks; Flower does every 5 s when the switch is on
            app.send_task(SWEEP)
            wait_for(lambda: "task-succeeded" in log.kinds(worker), timeout=30, message=worker.log)
        finally:
            flower.stop()
            worker.stop()
    kinds = [kind for kind in log.kinds(worker) if kind.startswith("task-")]
    assert kinds == ["task-received", "task-started", "task-succeeded"]
