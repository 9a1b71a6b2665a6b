"""Throughput of the whole pipeline beside the engine alone, on the same photos, in the same run.

    .venv/bin/python bench/pipeline.py [--images 200] [--workers 1 2] [--clients 4] [--database-url URL] [--https]
                                       [--own-cores] [--without-task-events] [--with-flower]

For each number of worker processes, the system as `make run` starts it: the web (gunicorn), an analysis
worker with that many pool processes, a worker for deliveries and sweepers (threads), and a loopback
receiver as the endpoint (with --https, its certificate signed by an authority of the benchmark's own, which
FACESITE_CA_BUNDLE trusts), on a throw-away database and the Redis at REDIS_URL (database 12, emptied). The
database is SQLite in a temporary folder, or with --database-url postgres://… a database the benchmark
creates on that server and drops at the end (so it needs the right to create one). Clients upload
distinct 640×480 photos (crops, flips and exposures of the test photos) as fast as the web answers; the
figures are images per second from the first upload to the last analysis and to the last delivery,
upload latency (in the burst of uploads, and of a few uploads one at a time while the workers are busy
with the burst), upload-to-done latency, and where a task's time goes (from the worker's log). The engine
alone analyses the same photos on as many processes before and after the pipeline runs; the ratio is to the
mean of the two, and a change of more than a tenth between them is reported, since the machine's speed then
moved under the measurement. With --own-cores, the analysis worker (its main process and its pool processes)
runs on a core per pool process and the rest of the system (the web, the io worker, Redis, PostgreSQL, the
clients and the receiver) on the other cores, as if the analysis had a host of its own; it needs more cores
than pool processes. With --without-task-events (or FACESITE_TASK_EVENTS=false), no process publishes the
task events Flower shows tasks from; with --with-flower, Flower runs too, as `make run` has it, and its CPU
is counted with the others'.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arguments import positive_int  # noqa: E402  (beside this script)
from cores import analysis_apart  # noqa: E402  (beside this script)
from photos import PHOTOS, fixture, jpeg_640x480  # noqa: E402  (beside this script)
from steadiness import steadiness  # noqa: E402  (beside this script)

DEFAULT = ("labels", "faces", "moderation")
TIMINGS = re.compile(r"analysed: .*; ms: (.*)$")
# Celery's line as a pool process finishes a task: when, which process, how long it ran.
SUCCEEDED = re.compile(
    r"^\[(\S+ \S+): INFO/(ForkPoolWorker-\d+)\] Task recognition\.tasks\.analyse_image\[\S+\] succeeded in ([0-9.]+)s"
)
PACED, PACE = 40, 0.1  # the last photos are uploaded one at a time, this many seconds apart


def photos(count: int, seed: int) -> list[bytes]:
    """``count`` distinct 640×480 JPEGs: each a crop, maybe mirrored, at its own exposure, of a test photo."""
    import random

    from PIL import ImageEnhance, ImageOps

    rng = random.Random(seed)
    out = []
    for i in range(count):
        picture = fixture(PHOTOS[i % len(PHOTOS)])
        width, height = picture.size
        keep = rng.uniform(0.85, 1.0)
        left, top = rng.uniform(0, 1 - keep) * width, rng.uniform(0, 1 - keep) * height
        picture = picture.crop((int(left), int(top), int(left + keep * width), int(top + keep * height)))
        picture = ImageOps.mirror(picture) if rng.random() < 0.5 else picture
        picture = ImageEnhance.Brightness(picture).enhance(rng.uniform(0.85, 1.15))
        out.append(jpeg_640x480(picture))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=positive_int, default=200, help=f"photos per run, more than {PACED}")
    parser.add_argument("--workers", type=positive_int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=positive_int, default=4)
    parser.add_argument("--database-url", help="a PostgreSQL server to create the throw-away database on")
    parser.add_argument("--https", action="store_true", help="the receiver over HTTPS, its authority trusted")
    parser.add_argument("--own-cores", action="store_true", help="a core per pool process, the rest on the others")
    parser.add_argument("--without-task-events", action="store_true", help="as FACESITE_TASK_EVENTS=false: none for "
                        "Flower")  # fmt: skip
    parser.add_argument("--with-flower", action="store_true", help="Flower running too, as make run has it")
    args = parser.parse_args()
    if args.images <= PACED:
        parser.error(f"--images must be more than {PACED}: the last {PACED} photos are uploaded one at a time "
                     "while the workers are busy with the others, so fewer leave no burst to measure")  # fmt: skip
    scheme = urlsplit(args.database_url).scheme if args.database_url else "postgres"
    if scheme not in ("postgres", "postgresql"):
        parser.error(f"--database-url must be a postgres:// URL, not {scheme}://")
    cpus = len(os.sched_getaffinity(0))
    if args.own_cores and max(args.workers) >= cpus:
        parser.error(f"--own-cores gives each pool process a core and the rest of the system at least one: on "
                     f"this machine's {cpus} cores, --workers {cpus - 1} at most")  # fmt: skip
    if args.without_task_events:
        os.environ["FACESITE_TASK_EVENTS"] = "false"  # the processes' environment is a copy of this one
    var = Path(tempfile.mkdtemp(prefix="facesite-bench-pipeline-"))
    try:
        with throwaway_database(args.database_url) as database_url:
            measure(args, environment(var, database_url))
    except BaseException as exc:
        if any(var.iterdir()):  # the workers' logs say what went wrong
            print(f"The run's files (worker logs, database, media) are kept in {var}", file=sys.stderr)
        else:
            var.rmdir()
        if isinstance(exc, KeyboardInterrupt):
            raise SystemExit("Interrupted.") from None
        raise
    shutil.rmtree(var, ignore_errors=True)  # 30 MB or so a run


def measure(args: argparse.Namespace, env: dict[str, str]) -> None:
    tls = None
    if args.https:  # as a site's own receiver: a certificate its own authority signed, that authority trusted
        from tests.servers import PrivateAuthority

        authority = PrivateAuthority(Path(env["FACESITE_VAR_DIR"]))
        env["FACESITE_CA_BUNDLE"] = str(authority.pem)
        tls = authority.server_context()
    token = prepare(env)
    from django.conf import settings

    endpoint = "HTTPS" if tls else "HTTP"
    events = "" if settings.FACESITE_TASK_EVENTS else ", no task events"
    flower = ", Flower listening" if args.with_flower else ""
    print(f"{args.images} photos at 640×480, {args.clients} uploading clients, {os.cpu_count()} cores, {endpoint}"
          f"{events}{flower}")  # fmt: skip
    print(
        f"{'processes':>9} {'engine alone':>13} {'to done':>13} {'to delivered':>13} {'ratio':>6} "
        f"{'upload p50/p95':>15} {'while busy':>12} {'upload→done p50/p95':>20}"
    )
    for workers in args.workers:
        images = photos(args.images, seed=workers)  # new photos each run: none is a duplicate of the last run's
        engine_before, alone_before = engine_only(images, workers)
        run = pipeline(images, workers, args.clients, env, token, tls, own_cores=args.own_cores,
                       with_flower=args.with_flower)  # fmt: skip
        engine_after, alone_after = engine_only(images, workers)
        engine_rate = (engine_before + engine_after) / 2
        print(
            f"{workers:>9} {engine_rate:>9.1f} /s {run['done']:>9.1f} /s {run['delivered']:>9.1f} /s "
            f"{run['done'] / engine_rate:>6.0%} {run['upload'][0]:>6.0f}/{run['upload'][1]:.0f} ms "
            f"{run['upload_busy'][0]:>6.0f}/{run['upload_busy'][1]:.0f} ms "
            f"{run['latency'][0]:>9.0f}/{run['latency'][1]:.0f} ms",
            flush=True,
        )
        print("   " + drift(engine_before, engine_after), flush=True)
        # A median, as the task's stages below are: with a mix of photos without faces and with several, the
        # median image takes longer than the mean one the rates come from (46.5 against 42.9 ms on N).
        print(f"   the engine alone, median ms an image: {statistics.median(alone_before + alone_after):.1f}",
              flush=True)  # fmt: skip
        if run["cores"]:
            print("   " + run["cores"], flush=True)
        print("   where a task's time goes (median ms): " + run["stages"], flush=True)
        cpu = ", ".join(f"{name} {ms:.0f}" for name, ms in run["cpu"].items())
        print("   CPU per image, by process (ms): " + cpu, flush=True)
        print("   pool processes: " + run["occupancy"], flush=True)
        if run["scheduled"] is not None:
            on_core, waiting = run["scheduled"]
            print(f"   pool processes, per image: {on_core:.1f} ms on a core, {waiting:.1f} ms ready but waiting for "
                  "one", flush=True)  # fmt: skip
            print("   " + bounds(engine_rate, workers, on_core, sum(run["cpu"].values())), flush=True)
        if run["sessions"] is not None:
            print(f"   new database sessions per image: {run['sessions']:.2f}", flush=True)


@contextlib.contextmanager
def throwaway_database(server_url: str | None) -> Iterator[str | None]:
    """The URL of a new, empty database on the PostgreSQL server of ``server_url``, dropped afterwards (as
    Django's test runner does, from the server's ``postgres`` database); None (SQLite) as it came."""
    if server_url is None:
        yield None
        return
    import psycopg

    parts = urlsplit(server_url)
    name = f"facesite_bench_{os.getpid()}"
    server = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    try:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise SystemExit(f"could not create a database for the benchmark on {parts.hostname}: {exc}") from exc
    print(f"database {name} on {parts.hostname}:{parts.port or 5432}, dropped at the end", flush=True)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def environment(var: Path, database_url: str | None) -> dict[str, str]:
    import redis

    broker = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0] + "/12"
    redis.Redis.from_url(broker).flushdb()
    env = {
        **os.environ,
        "FACESITE_VAR_DIR": str(var),
        "DATABASE_URL": database_url or f"sqlite:///{var}/facesite.sqlite3",
        "REDIS_URL": broker,
        "RECOGNITION_ENGINE": "local",
        "RECOGNITION_ENGINE_OPTIONS": '{"preload": true}',
        "FACESITE_URL_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
        "FACESITE_UPLOAD_RATE": "100000/min",
        "FACESITE_HTTPS": "false",
        "DJANGO_SETTINGS_MODULE": "facesite.settings",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update({key: env[key] for key in ("FACESITE_VAR_DIR", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")})
    return env


def prepare(env: dict[str, str]) -> str:
    """A migrated database with an operator's token; the token."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from backoffice import roles
    from backoffice.tokens import api_token_issue

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench")
    user.groups.add(Group.objects.get(name=roles.OPERATOR))
    return api_token_issue(user=user)[1]


def pipeline(
    images: list[bytes], workers: int, clients: int, env: dict[str, str], token: str, tls: ssl.SSLContext | None,
    *, own_cores: bool = False, with_flower: bool = False,
) -> dict:  # fmt: skip
    import redis
    import requests

    from facesite.devredis import free_port
    from integrations.models import Endpoint
    from tests.receiver import Receiver
    from tests.workers import stop_groups

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    receiver = Receiver(tls=tls, keep_alive=True).start()  # as most web servers: HTTP/1.1, connections kept
    Endpoint.objects.update(enabled=False)  # only this run's receiver is told
    Endpoint.objects.create(name=f"bench-{workers}", url=receiver.url, secret="bench-secret",
                            events=["image.analysed"])  # fmt: skip
    port = free_port()
    var = Path(env["FACESITE_VAR_DIR"])
    log_path, io_log_path = var / f"worker-{workers}.log", var / f"worker-io-{workers}.log"
    log, io_log = log_path.open("w"), io_log_path.open("w")
    worker_env = {**env, "LOG_LEVEL": "INFO"}
    celery = [sys.executable, "-m", "celery", "-A", "facesite"]
    worker = [*celery, "worker", "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    # As the Procfile (`make run`) starts them; each in a session of its own, so that Ctrl-C reaches only the
    # benchmark, which then stops each with its children (stop_groups).
    processes = [
        subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "facesite.wsgi", "--bind",
                          f"127.0.0.1:{port}", "--workers", "2"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True),
        subprocess.Popen([*worker, "-Q", "analysis,text,video", "--concurrency", str(workers), "-n", "analysis@%h"],
                         cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True),
        subprocess.Popen([*worker, "-Q", "deliveries,maintenance", "--pool", "threads", "--concurrency", "4",
                          "-n", "io@%h"], cwd=ROOT, env=worker_env, stdout=io_log, stderr=subprocess.STDOUT,
                         start_new_session=True),
    ]  # fmt: skip
    ready = [f"http://127.0.0.1:{port}/api/"]
    if with_flower:  # it takes in every task event, and asks the workers for theirs every 5 s
        flower_port = free_port()
        ready.append(f"http://127.0.0.1:{flower_port}/")
        processes.append(subprocess.Popen([*celery, "flower", "--address=127.0.0.1", f"--port={flower_port}"],
                                          cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))  # fmt: skip
    cores = contextlib.ExitStack()
    try:
        wait_until_ready(ready, [log_path, io_log_path], workers)
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"

        def upload(data: bytes) -> tuple[float, str]:
            start = time.perf_counter()
            answer = session.post(f"http://127.0.0.1:{port}/api/images/", files={"file": ("p.jpg", data)})
            if answer.status_code != 202:
                raise SystemExit(f"upload answered {answer.status_code}: {answer.text[:300]}")
            return (time.perf_counter() - start) * 1000, answer.json()["id"]

        burst, paced = images[: len(images) - PACED], images[len(images) - PACED :]
        servers = local_servers(env["REDIS_URL"])
        groups = {"web": processes[0], "analysis worker": processes[1], "io worker": processes[2], **servers}
        if with_flower:
            groups["Flower"] = processes[3]
        placed = None
        if own_cores:  # as on a host of its own; every affinity restored in `finally`
            rest = [os.getpid(), processes[0].pid, *(p.pid for p in processes[2:]),
                    *(pid for pid in servers.values() if pid)]  # fmt: skip
            placed = cores.enter_context(analysis_apart(processes[1].pid, rest, workers))
        cpu_before = {name: cpu_seconds(pid) for name, pid in groups.items()}
        cpu_before["clients and receiver"] = cpu_seconds(os.getpid(), children=False)
        scheduled_before = scheduled(processes[1])
        sessions_before = database_sessions()
        started = time.time()
        with ThreadPoolExecutor(clients) as pool:
            answers = list(pool.map(upload, burst))
        # A few more, one at a time, while the workers are busy with the burst's backlog: how long someone
        # uploading waits when the site is busy but not flooded by uploads.
        for data in paced:
            answers.append(upload(data))
            time.sleep(PACE)
        last_done, last_delivered, latencies = wait_for_done([image_id for _, image_id in answers])
        cpu_after = {name: cpu_seconds(pid) for name, pid in groups.items()}
        cpu_after["clients and receiver"] = cpu_seconds(os.getpid(), children=False)
        scheduled_after = scheduled(processes[1])
        cpu = {name: (cpu_after[name] - cpu_before[name]) / len(images) * 1000 for name in cpu_after}
        sessions_after = database_sessions()
    finally:
        cores.close()
        stop_groups(processes, grace=30)
        receiver.stop()
        log.close()
        io_log.close()
    return {
        "done": len(images) / (last_done - started),
        "delivered": len(images) / (last_delivered - started),
        "upload": percentiles([ms for ms, _ in answers[: len(burst)]]),
        "upload_busy": percentiles([ms for ms, _ in answers[len(burst) :]]),
        "latency": percentiles(latencies),
        "stages": stages(log_path),
        "occupancy": occupancy(log_path, workers),
        "cpu": cpu,
        "scheduled": per_image(scheduled_before, scheduled_after, len(images)),
        "sessions": None if sessions_before is None else (sessions_after - sessions_before) / len(images),
        "cores": placed,
    }


def database_sessions() -> int | None:
    """How many sessions PostgreSQL has opened on this database so far (None on SQLite): processes that
    keep their connection open almost none an image."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def cpu_seconds(process: subprocess.Popen | int | None, *, children: bool = True) -> float:
    """CPU time (user and system) used so far by a process and, unless told not, its children, living
    or ended; 0 for no process."""
    import psutil

    if process is None:
        return 0.0
    root = psutil.Process(process if isinstance(process, int) else process.pid)
    times = root.cpu_times()
    total = times.user + times.system
    if children:
        total += times.children_user + times.children_system
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                times = child.cpu_times()
                total += times.user + times.system
    return total


def scheduled(worker: subprocess.Popen) -> tuple[float, float] | None:
    """Milliseconds the worker's pool processes have so far spent on a core, and ready to run but waiting for
    one (Linux's /proc/<pid>/schedstat); None where the kernel does not keep them, or the worker has no pool
    processes to read. The second is what the rest of the system takes from the engine, which CPU time alone
    does not show."""
    import psutil

    on_core = waiting = 0.0
    try:
        children = psutil.Process(worker.pid).children()
        for child in children:
            fields = Path(f"/proc/{child.pid}/schedstat").read_text().split()
            on_core, waiting = on_core + int(fields[0]) / 1e6, waiting + int(fields[1]) / 1e6
    except (OSError, psutil.NoSuchProcess):
        return None
    return (on_core, waiting) if children else None


def bounds(engine_rate: float, workers: int, on_core_ms: float, cpu_ms: float) -> str:
    """The highest ratio the pipeline could reach with no waiting at all, two ways: if its pool processes did
    nothing but their own work on a core, and if the machine's cores were busy every moment (CPU an image
    of every process measured, the benchmark's clients included)."""
    cores = os.cpu_count() or 1
    pool_rate, machine_rate = workers * 1000 / on_core_ms, cores * 1000 / cpu_ms
    return (
        f"the ratio could at most reach {pool_rate / engine_rate:.0%} (the pool processes' own work on a core) "
        f"and {machine_rate / engine_rate:.0%} ({cores} cores, {cpu_ms:.0f} ms of CPU an image)"
    )


def per_image(before: tuple[float, ...] | None, after: tuple[float, ...] | None, images: int) -> tuple | None:
    if before is None or after is None:
        return None
    return tuple((end - start) / images for start, end in zip(before, after, strict=True))


def local_servers(redis_url: str) -> dict[str, int | None]:
    """The pids of the Redis server and of the PostgreSQL server (with its backends), when they run on
    this machine: they take their share of its cores too."""
    import psutil
    import redis
    from django.db import connection

    servers: dict[str, int | None] = {"Redis": int(redis.Redis.from_url(redis_url).info("server")["process_id"])}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = psutil.Process(cursor.fetchone()[0])
        servers["PostgreSQL"] = backend.ppid()
    return {name: pid if pid and psutil.pid_exists(pid) else None for name, pid in servers.items()}


def percentiles(values: list[float]) -> tuple[float, float]:
    """Median and 95th percentile."""
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.95 * len(ordered))]


def wait_until_ready(urls: list[str], worker_logs: list[Path], pool_processes: int, timeout: float = 120) -> None:
    """Until the web (and Flower) answer, the workers take tasks, and the analysis worker's (first) log says
    that each of its pool processes has loaded the models: a running system, as the engine alone is measured
    loaded."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            up = all(requests.get(url, timeout=1).status_code in (200, 401, 403) for url in urls)
            logs = [log.read_text() for log in worker_logs]
            loaded = logs[0].count("ready: the engine's models loaded")
            if up and all("ready." in log for log in logs) and loaded >= pool_processes:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the system did not start within {timeout:.0f} s: the web, Flower or a worker")


def wait_for_done(ids: list[str], timeout: float = 900) -> tuple[float, float, list[float]]:
    """When the last of these images was analysed and the last delivery made (epoch seconds), and each
    image's upload-to-done latency in ms. One connection all along: the database serves the system measured."""
    from django.db.models import Max

    from integrations.models import Delivery
    from recognition.models import Image

    images = Image.objects.filter(pk__in=ids)
    deliveries = Delivery.objects.filter(image_id__in=ids)
    deadline = time.monotonic() + timeout
    while images.filter(status__in=["done", "failed"]).count() < len(ids) or (
        deliveries.filter(status="delivered").count() < len(ids)
    ):
        if time.monotonic() > deadline:
            raise SystemExit(f"only {images.filter(status='done').count()} of {len(ids)} images were analysed")
        time.sleep(0.2)
    if failed := images.filter(status="failed").first():
        raise SystemExit(f"an image failed: {failed.error}")
    latencies = sorted(
        (analysed - created).total_seconds() * 1000
        for created, analysed in images.values_list("created_at", "analysed_at")
    )
    return (
        images.aggregate(last=Max("analysed_at"))["last"].timestamp(),
        deliveries.aggregate(last=Max("delivered_at"))["last"].timestamp(),
        latencies,
    )


def stages(worker_log: Path) -> str:
    values: dict[str, list[float]] = defaultdict(list)
    for line in worker_log.read_text(errors="replace").splitlines():
        if match := TIMINGS.search(line):
            for pair in match.group(1).split():
                name, ms = pair.split("=")
                values[name].append(float(ms))
    return ", ".join(f"{name} {statistics.median(ms):.1f}" for name, ms in values.items())


def occupancy(worker_log: Path, workers: int) -> str:
    """How busy the pool processes were from the first task's start to the last one's end, and how long one
    waited between two of its tasks (median): the time the pipeline leaves the engine idle."""
    from datetime import datetime

    runs: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for line in worker_log.read_text(errors="replace").splitlines():
        if match := SUCCEEDED.search(line):
            end = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            runs[match.group(2)].append((end - float(match.group(3)), end))
    if not runs:
        return "no task lines in the worker's log"
    spans = [span for process in runs.values() for span in process]
    window = max(end for _, end in spans) - min(start for start, _ in spans)
    busy = sum(end - start for start, end in spans) / (window * workers)
    waits = [
        (later[0] - earlier[1]) * 1000 for process in map(sorted, runs.values()) for earlier, later in pairwise(process)
    ]
    return f"busy {busy:.0%} of {window:.1f} s, waiting {statistics.median(waits):.1f} ms between tasks (median)"


def _engine_share(share: list[bytes]) -> tuple[float, float, list[float]]:
    from recognition.engines.local import LocalEngine

    engine = LocalEngine(preload=True)
    engine.analyse(share[0], features=DEFAULT)  # warm
    each = []
    start = time.perf_counter()
    for data in share:
        began = time.perf_counter()
        engine.analyse(data, features=DEFAULT)
        each.append((time.perf_counter() - began) * 1000)
    return start, time.perf_counter(), each


def drift(before: float, after: float) -> str:
    """The engine alone before and after the pipeline, and whether the machine's speed held between them."""
    verdict = steadiness(before, after, consequence="the ratio is uncertain")
    return f"engine alone before and after the pipeline: {before:.1f} and {after:.1f} /s ({verdict})"


def engine_only(images: list[bytes], processes: int) -> tuple[float, list[float]]:
    """Images per second the engine alone analyses on ``processes`` processes (each its share), and the ms
    each image took."""
    shares = [images[i::processes] for i in range(processes)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        runs = pool.map(_engine_share, shares)
    rate = sum(len(share) / (end - start) for share, (start, end, _) in zip(shares, runs, strict=True))
    return rate, [ms for *_, each in runs for ms in each]


if __name__ == "__main__":
    main()
