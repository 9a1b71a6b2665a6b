"""A worker keeps its database connection between tasks for ``DATABASE_CONN_MAX_AGE``, as the web does between
requests, instead of Celery's default of a new one for every task (a real worker process)."""

import psutil
import pytest
from django.db import connection

from recognition.models import Image
from recognition.services import queue
from recognition.services.ingest import image_ingest
from tests import images
from tests.helpers import end_other_database_sessions, status_of, wait_for
from tests.workers import WorkerProcess, child_env


def database_handles(worker: WorkerProcess) -> set[tuple[int, object]]:
    """What the worker's pool processes hold open to the test database: their TCP connections to the
    server, or their handles on the SQLite file."""
    pool = psutil.Process(worker.process.pid).children()
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        return {(child.pid, file.fd) for child in pool for file in child.open_files() if file.path == name}
    port = int(connection.settings_dict["PORT"] or 5432)
    return {
        (child.pid, link.laddr)
        for child in pool
        for link in child.net_connections("tcp")
        if link.raddr and link.raddr.port == port
    }


def analyse_one(worker: WorkerProcess, seed: int) -> None:
    image = image_ingest(data=images.jpeg((120, 90), seed=seed))
    wait_for(lambda: status_of(image.pk) == Image.Status.DONE, timeout=60, message=worker.log)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("max_age", ["60", "0"])
def test_a_worker_keeps_its_database_connection_between_tasks_for_its_max_age(media_root, tmp_path, max_age):
    if connection.vendor == "postgresql" and connection.settings_dict["OPTIONS"].get("host"):
        pytest.skip("the server listens on a Unix socket here")
    env = child_env(media_root=media_root, DATABASE_CONN_MAX_AGE=max_age)
    worker = WorkerProcess(env=env, log_path=tmp_path / "w.log", queues=(queue.ANALYSIS,))
    try:
        analyse_one(worker, seed=81)
        after_first = database_handles(worker)
        analyse_one(worker, seed=82)
        after_second = database_handles(worker)
    finally:
        worker.stop()

    if max_age == "0":
        assert after_first == after_second == set(), "closed after each task, as PgBouncer in transaction mode wants"
    else:
        assert after_first, "the connection outlives its task"
        assert after_second == after_first, "and the next task uses it"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_kept_connection_the_server_dropped_is_replaced_before_the_next_task_uses_it(media_root, tmp_path):
    if connection.vendor != "postgresql" or connection.settings_dict["OPTIONS"].get("host"):
        pytest.skip("needs PostgreSQL on TCP, whose sessions can be ended from here")
    worker = WorkerProcess(
        env=child_env(media_root=media_root, DATABASE_CONN_MAX_AGE="600"), log_path=tmp_path / "w.log",
        queues=(queue.ANALYSIS,),
    )  # fmt: skip
    try:
        analyse_one(worker, seed=83)
        kept = database_handles(worker)
        end_other_database_sessions()
        analyse_one(worker, seed=84)
        replaced = database_handles(worker)
    finally:
        worker.stop()

    assert kept and replaced and replaced != kept, "a new connection, and the image analysed at the first try"
    assert "Traceback" not in worker.log() and "will retry" not in worker.log()
