"""A real HTTP server on loopback that plays a third-party endpoint."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"<ok/>"
    delay: float = 0.0
    drop: bool = False  # read the request, then close the connection without answering
    interval: float = 0.0  # write the answer a byte at a time, this many seconds apart


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    peer: int  # the client's port: one per connection


class Receiver:
    """Answers POSTs from a script of replies (then ``default``), recording every request."""

    def __init__(
        self, port: int = 0, *, tls: ssl.SSLContext | None = None, keep_alive: bool = False, idle_timeout: float = 60
    ):
        """``keep_alive``: HTTP/1.1, a connection kept for more requests until it is idle ``idle_timeout`` s
        (otherwise HTTP/1.0, closed after each answer)."""
        self.script: deque[Reply] = deque()
        self.default = Reply()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
            disable_nagle_algorithm = True  # as web servers do: an answer's parts go out as they are written
            timeout = idle_timeout

            def setup(self):
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def finish(self):
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    received = Received(time.monotonic(), self.path, dict(self.headers), body, self.client_address[1])
                    receiver.received.append(received)
                    reply = receiver.script.popleft() if receiver.script else receiver.default
                if reply.drop:
                    self.close_connection = True
                    return
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    if not reply.interval:
                        self.end_headers()
                        self.wfile.write(reply.body)
                        return
                    self.send_header("X-Padding", "a" * 2000)
                    answer, self._headers_buffer = b"".join(self._headers_buffer) + b"\r\n" + reply.body, []
                    for byte in answer:
                        self.wfile.write(bytes([byte]))
                        time.sleep(reply.interval)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if tls is not None:  # HTTPS, with the server certificate the context holds
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}/events"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening, and end the connections clients keep: a later server on the same port must not
        be answered by this one."""
        self.server.shutdown()
        self.server.server_close()
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    @property
    def open_connections(self) -> int:
        """Connections whose client has not closed them (nor the receiver, idle)."""
        with self._lock:
            return len(self._connections)

    def reply(self, *replies: Reply) -> None:
        self.script.extend(replies)
