"""Cores of its own for the analysis worker, as on a host of its own, for `pipeline.py --own-cores`."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator


@contextlib.contextmanager
def analysis_apart(analysis_worker: int, others: Iterable[int], cores: int) -> Iterator[str]:
    """Every thread of the analysis worker (its main process and its pool processes) on the machine's last
    ``cores`` CPUs and every thread of ``others`` and their children on the rest, until the block ends; then
    each thread as it was. Yields a line saying which went where. Processes started later inherit the
    affinity of the process that starts them, so a database server's new backends follow it."""
    import psutil

    cpus = sorted(os.sched_getaffinity(0))
    if cores >= len(cpus):
        raise ValueError(f"{cores} cores for the analysis worker leave none of this machine's {len(cpus)} for the rest")
    analysis_cpus, rest_cpus = set(cpus[-cores:]), set(cpus[:-cores])
    worker = psutil.Process(analysis_worker)
    analysis = {worker.pid, *(child.pid for child in worker.children(recursive=True))}
    rest: set[int] = set()
    for pid in others:
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
            rest |= {process.pid, *(child.pid for child in process.children(recursive=True))}
    before: dict[int, set[int]] = {}
    refused: set[int] = set()  # another user's processes (a database server), unless run as root
    try:
        for pids, wanted in ((analysis, analysis_cpus), (rest - analysis, rest_cpus)):
            for pid in pids:
                for tid in _threads(pid):
                    with contextlib.suppress(ProcessLookupError):
                        affinity = os.sched_getaffinity(tid)
                        try:
                            os.sched_setaffinity(tid, wanted)
                        except PermissionError:
                            refused.add(pid)
                            continue
                        before.setdefault(tid, affinity)
        line = f"the analysis worker on CPU {_names(analysis_cpus)}, the rest of the system on CPU {_names(rest_cpus)}"
        if refused:
            line += f" (not moved, another user's: pid {_names(refused)})"
        yield line
    finally:
        for tid, affinity in before.items():
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(tid, affinity)


def _threads(pid: int) -> list[int]:
    try:
        return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:  # ended meanwhile
        return []


def _names(cpus: set[int]) -> str:
    return ", ".join(str(cpu) for cpu in sorted(cpus))
