"""Worker pool processes load the engine's models when they start, not with their first image."""

import json
import re
import time
import uuid

import psutil
import pytest

from tests.helpers import wait_for
from tests.workers import CeleryProcess, child_env

pytestmark = pytest.mark.django_db(transaction=True)

MODELS_MIB = 250  # every model of the local engine takes about 450 MiB (bench/engine.py)


def worker(tmp_path, **env: str) -> CeleryProcess:
    """A prefork worker with one pool process on a queue of its own, so it is given no task at all."""
    return CeleryProcess(
        ["worker", "--pool", "prefork", "--concurrency", "1", "--loglevel", "INFO", "--without-gossip",
         "--without-mingle", "-Q", f"nothing-{uuid.uuid4().hex[:8]}", "-n", f"preload-{uuid.uuid4().hex[:8]}@%h"],
        env=child_env(media_root=tmp_path / "media", **env), log_path=tmp_path / "worker.log",
    )  # fmt: skip


def pool_process(process: CeleryProcess) -> psutil.Process | None:
    """The worker's pool process: a child forked from it (so running celery too), not a helper program the
    worker runs for a moment as it starts, which a first child could be."""
    for child in psutil.Process(process.process.pid).children():
        try:
            if "celery" in " ".join(child.cmdline()):
                return child
        except psutil.NoSuchProcess:  # a helper already gone
            continue
    return None


def mib(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def test_a_pool_process_loads_the_models_before_it_is_given_a_task(tmp_path):
    process = worker(tmp_path, RECOGNITION_ENGINE="local")
    try:
        said = re.compile(r"Pool process (\d+) ready: the engine's models loaded in ")
        ready = wait_for(lambda: said.search(process.log()), timeout=120, message=process.log)
        main, child = psutil.Process(process.process.pid), psutil.Process(int(ready[1]))
        assert child.ppid() == main.pid, "the process that says so is the worker's pool process"

        assert mib(child) > mib(main) + MODELS_MIB, "the models are in memory when the log says so"
    finally:
        process.stop()


def test_an_engine_that_cannot_load_is_logged_and_the_pool_process_stays(tmp_path):
    options = json.dumps({"threads": "many"})  # the local engine refuses it when it loads
    process = worker(tmp_path, RECOGNITION_ENGINE="local", RECOGNITION_ENGINE_OPTIONS=options)
    try:
        wait_for(lambda: "could not load its models" in process.log(), timeout=90, message=process.log)
        child = wait_for(lambda: pool_process(process), timeout=90, message=process.log)
        time.sleep(1)  # a pool process that died of it would have been replaced by now

        assert pool_process(process).pid == child.pid
        assert process.log().count("could not load its models") == 1
        assert "ready: the engine's models loaded" not in process.log()
    finally:
        process.stop()
