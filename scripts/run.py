"""Start the whole system: web, Celery workers (analysis; deliveries and sweepers), beat, Flower, and Redis
when none is reachable.

Called by ``make run`` after migrations. Processes run under honcho, so Ctrl-C
stops every one of them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facesite.devredis import free_port, redis_reachable  # noqa: E402


def main() -> None:
    env = dict(os.environ)
    web_port = env.get("PORT", "8000")
    flower_port = env.get("FLOWER_PORT", "5555")
    check_ports({"PORT": (web_port, "web and API"), "FLOWER_PORT": (flower_port, "Flower")})
    processes = ["web", "worker", "worker-io", "beat", "flower"]

    redis_url = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if redis_reachable(redis_url):
        redis_note = f"Redis: {redis_url}"
    else:
        port = int(env.get("FACESITE_PRIVATE_REDIS_PORT") or free_port())
        redis_url = f"redis://127.0.0.1:{port}/0"
        env["FACESITE_PRIVATE_REDIS_PORT"] = str(port)
        processes.insert(0, "redis")
        redis_note = f"Redis: none was reachable, so a private one runs at {redis_url} (stops with this command)"

    env.update(
        REDIS_URL=redis_url,
        FACESITE_WEB_PORT=web_port,
        FACESITE_FLOWER_PORT=flower_port,
        FLOWER_URL=f"http://127.0.0.1:{flower_port}/",
        FACESITE_WORKER_CONCURRENCY=env.get("FACESITE_WORKER_CONCURRENCY", "2"),
        # Plain http on 127.0.0.1: cookies cannot require TLS here. Behind TLS, leave FACESITE_HTTPS on.
        FACESITE_HTTPS=env.get("FACESITE_HTTPS", "false"),
        # No mail server here: e-mails (watch alerts, security notices) are printed in the io worker's log.
        EMAIL_BACKEND=env.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"),
        FACESITE_PUBLIC_URL=env.get("FACESITE_PUBLIC_URL", f"http://127.0.0.1:{web_port}"),  # for links in e-mails
    )
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # The web's processes add up their face-check timings here for /metrics; each start begins afresh.
    metrics_dir = Path(env.get("FACESITE_VAR_DIR") or ROOT / "var") / "prometheus"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env["FACESITE_WEB_METRICS_DIR"] = str(metrics_dir)
    py = ROOT / ".venv" / "bin" / "python"
    print(
        f"""
Facesite is starting.
  Web and API:  http://127.0.0.1:{web_port}/api/    (admin: http://127.0.0.1:{web_port}/admin/)
  OpenAPI:      http://127.0.0.1:{web_port}/api/schema/
  Flower:       http://127.0.0.1:{flower_port}/
  {redis_note}

Create an admin user and an API token in another terminal:
  {py} manage.py createsuperuser
  {py} manage.py drf_create_token <username>
Upload an image:
  curl -H "Authorization: Token <token>" -F file=@photo.jpg http://127.0.0.1:{web_port}/api/images/

Ctrl-C stops everything.
""",
        flush=True,
    )
    honcho = str(ROOT / ".venv" / "bin" / "honcho")
    os.chdir(ROOT)
    sys.exit(supervise([honcho, "start", "-f", "Procfile", *processes], env))


def check_ports(ports: dict[str, tuple[str, str]]) -> None:
    """Stop before starting anything when a port is not a number or is taken: otherwise one process fails
    among the others' start-up lines and takes the rest down with it."""
    chosen: dict[int, str] = {}
    for variable, (value, purpose) in ports.items():
        if not value.isdigit() or not 0 < int(value) < 65536:
            raise SystemExit(f"{variable}={value!r} is not a port number (1-65535).")
        port = int(value)
        if port in chosen:
            raise SystemExit(f"{chosen[port]} and {variable} are both {port}: give each its own port.")
        if not _free(port):
            raise SystemExit(
                f"Port {port} ({purpose}) is already in use, perhaps by another Facesite. Stop what holds it, "
                f"or choose another: {variable}=<port> make run"
            )
        chosen[port] = variable


def _free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn and Flower bind
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def supervise(command: list[str], env: dict[str, str]) -> int:
    """Run honcho until it ends; a stop asked for (Ctrl-C, SIGTERM) is a clean exit, status 0."""
    child = subprocess.Popen(command, env=env)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        # honcho stops its processes gracefully on SIGTERM (again, harmlessly, if the terminal's Ctrl-C
        # reached it too).
        child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = child.wait()
    if stopping:
        print("Facesite stopped.", flush=True)
        return 0
    return code


if __name__ == "__main__":
    main()
