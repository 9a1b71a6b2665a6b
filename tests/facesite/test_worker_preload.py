"""Worker pool processes load the engine's models when they start, not with their first image."""

import json
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
    children = psutil.Process(process.process.pid).children()
    return children[0] if children else None


def mib(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def test_a_pool_process_loads_the_models_before_it_is_given_a_task(tmp_path):
    process = worker(tmp_path, RECOGNITION_ENGINE="local")
    try:
        child = wait_for(lambda: pool_process(process), timeout=90, message=process.log)
        main = psutil.Process(process.process.pid)
        ready = f"Pool process {child.pid} ready: the engine's models loaded in "
        wait_for(lambda: ready in process.log(), timeout=90, message=process.log)

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
