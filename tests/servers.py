"""Servers on loopback for tests: raw TCP ones that misbehave on purpose (they trickle, or only count who
connects), an S3-compatible one, and a private certificate authority for HTTPS ones."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class TrickleServer:
    """Accepts connections and sends ``head`` then ``body`` one byte every ``interval`` seconds, for
    ``seconds`` at most, so that no single read ever waits long enough to time out."""

    def __init__(
        self, *, head: bytes, body: bytes = b"", interval: float = 0.3, seconds: float = 30.0,
        tls: ssl.SSLContext | None = None,
    ):  # fmt: skip
        self.head, self.body, self.interval, self.seconds, self.tls = head, body, interval, seconds, tls
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def __enter__(self) -> TrickleServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, raw: socket.socket) -> None:
        end = time.monotonic() + self.seconds
        with raw:
            try:
                # Over HTTPS: the handshake at the usual pace, then the trickle. The wrapped socket is closed
                # on its own: closing the one it was made from does not close it.
                conn = self.tls.wrap_socket(raw, server_side=True) if self.tls is not None else raw
                with conn:
                    conn.recv(65536)  # the request
                    for data in (self.head, self.body):
                        for i in range(len(data)):
                            if self._stop.is_set() or time.monotonic() > end:
                                return
                            conn.sendall(data[i : i + 1])
                            time.sleep(self.interval if data is self.body or i % 8 == 7 else 0)
            except OSError:
                return


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """moto's standalone S3-compatible server, for real HTTP on a loopback port; its URL."""
    from moto.server import ThreadedMotoServer

    port = closed_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    # moto keeps its buckets in the process, from one server to the next: each test starts empty.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()
    try:
        yield url
    finally:
        server.stop()


@contextlib.contextmanager
def s3_read_from(settings, monkeypatch, bucket: str) -> Iterator[Any]:
    """``s3_server`` as the S3 Facesite reads objects from (``REKOGNITION_API_S3``), with ``bucket``; a client."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "s3-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3-secret")
    with s3_server() as url:
        settings.REKOGNITION_API_S3 = {"endpoint_url": url, "region_name": "us-east-1"}
        client = boto3.session.Session().client("s3", endpoint_url=url, region_name="us-east-1")
        client.create_bucket(Bucket=bucket)
        yield client


class PrivateAuthority:
    """A certificate authority of the test's own, as a site's IT runs one; ``pem`` is its certificate's file."""

    def __init__(self, folder: Path):
        import trustme

        self.ca = trustme.CA()
        self.pem = folder / "private-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.pem))

    def server_context(self, name: str = "127.0.0.1") -> ssl.SSLContext:
        """A server's TLS context with a certificate for ``name`` that this authority signed."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(name).configure_cert(context)
        return context
