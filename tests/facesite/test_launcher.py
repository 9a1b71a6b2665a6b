"""`make run`'s launcher stops before starting anything when it cannot have its ports, and says which and why
(the whole system starting is tests/system/test_run_system.py)."""

import os
import socket
import subprocess
import sys

import pytest

from facesite.devredis import free_port
from tests.workers import ROOT


def launch(**ports: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ports}
    return subprocess.run([sys.executable, "scripts/run.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=30)  # fmt: skip


@pytest.fixture
def taken_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_web_port_in_use_stops_the_launcher_before_anything_starts(taken_port):
    run = launch(PORT=str(taken_port))
    assert run.returncode == 1 and "Facesite is starting" not in run.stdout
    assert run.stderr.strip() == (
        f"Port {taken_port} (web and API) is already in use, perhaps by another Facesite. Stop what holds it, "
        "or choose another: PORT=<port> make run"
    )


@pytest.mark.parametrize("port", ["web", "70000", "0"])
def test_a_port_that_is_not_a_port_number_is_refused(port):
    run = launch(PORT=port)
    assert run.returncode == 1 and run.stderr.strip() == f"PORT={port!r} is not a port number (1-65535)."


def test_the_web_and_flower_on_one_port_are_refused():
    port = str(free_port())
    run = launch(PORT=port, FLOWER_PORT=port)
    assert run.returncode == 1
    assert run.stderr.strip() == f"PORT and FLOWER_PORT are both {port}: give each its own port."
