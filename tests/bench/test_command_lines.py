"""The benchmarks are not tests, but their command lines are: each script must start (its imports resolve,
which a change elsewhere can break unseen) and refuse a count of zero with argparse's message, before it
starts any server or loads any model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent.parent / "bench"
HELPERS = {"arguments.py", "cores.py", "photos.py", "scratch.py", "steadiness.py"}
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py") if p.name not in HELPERS)
# For each script, one count or duration it must refuse when zero.
ZERO = {
    "api.py": "--requests",
    "deliveries.py": "--deliveries",
    "engine.py": "--rounds",
    "kiosk.py": "--rounds",
    "ocr_input.py": "--sides",
    "pipeline.py": "--clients",
    "search.py": "--probes",
    "video.py": "--sample-rate",
    "video_results.py": "--sightings",
}


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=120, cwd=BENCH.parent
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_starts_and_explains_itself(script):
    answer = run(script, "--help")
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.startswith(f"usage: {script}")


@pytest.mark.parametrize("script", sorted(ZERO))
def test_script_refuses_a_zero_count(script):
    answer = run(script, ZERO[script], "0")
    assert answer.returncode == 2
    assert f"argument {ZERO[script]}: '0' is not" in answer.stderr


def test_pipeline_needs_more_photos_than_it_uploads_one_at_a_time():
    answer = run("pipeline.py", "--images", "40")
    assert answer.returncode == 2
    assert "--images must be more than 40" in answer.stderr


def test_pipeline_wants_a_postgresql_server_or_none():
    answer = run("pipeline.py", "--database-url", "mysql://somewhere/db")
    assert answer.returncode == 2
    assert "--database-url must be a postgres:// URL, not mysql://" in answer.stderr


def test_pipeline_leaves_a_core_for_the_rest_of_the_system_when_asked_for_cores_apart():
    cpus = len(os.sched_getaffinity(0))
    answer = run("pipeline.py", "--own-cores", "--workers", str(cpus))
    assert answer.returncode == 2
    assert f"on this machine's {cpus} cores, --workers {cpus - 1} at most" in answer.stderr
