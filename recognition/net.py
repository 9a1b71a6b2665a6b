"""Outgoing HTTP that cannot be turned against the network inside, nor held open forever.

Both the URL fetcher (uploads by URL) and the delivery sender (POSTs to endpoints) use
``guarded_session``:

* **Addresses are checked before connecting.** The host name is resolved here and every
  address it resolves to is checked; only then is a socket opened, to one of those same
  addresses (so a second, different DNS answer cannot slip through). Loopback, private,
  link-local (cloud metadata), multicast, reserved and unspecified addresses are refused,
  IPv4 and IPv6, unless a network is on the caller's allow-list. A refused target gets the
  same message whatever its port or state: nothing is learnt about what runs inside.
* **A hard deadline bounds the whole exchange.** Socket timeouts bound each read, so a
  server sending a byte every few seconds would never trip them; when the deadline passes,
  a timer shuts the session's sockets down, which ends any read in progress.
* No proxies from the environment: the checks must see the real peer.
* **Certificates are checked against one context a process**: certifi's public authorities, and those of
  ``FACESITE_CA_BUNDLE``. Loading them takes tens of milliseconds, which urllib3 would spend again on
  every new connection.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import certifi
import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.ssl_ import create_urllib3_context

REFUSED = "a private, loopback, link-local or reserved address"
E = TypeVar("E", bound=BaseException)
CA_BUNDLE_HINT = "If your own certificate authority signs it, name that authority's PEM file in FACESITE_CA_BUNDLE."


class AddressRefused(OSError):
    """The target resolves to an address outside what may be reached."""

    def __init__(self) -> None:
        super().__init__(f"Refusing to connect to {REFUSED}.")


def plain_address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``address`` without an IPv6 zone, and an IPv4 address mapped into IPv6 (as a dual-stack socket shows
    IPv4 peers) as the IPv4 address it is; ``ValueError`` when it is not an address."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def address_allowed(address: str, *, allowed_networks: Iterable[str] = ()) -> bool:
    ip = plain_address(address)
    if any(ip in ipaddress.ip_network(network) for network in allowed_networks):
        return True
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local)


def resolve_checked(host: str, port: int, *, allowed_networks: Iterable[str] = ()) -> list[tuple[Any, ...]]:
    """Every address ``host`` resolves to, once all of them are allowed; ``AddressRefused`` otherwise."""
    allowed = list(allowed_networks)
    try:
        found = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"The host name {host} cannot be resolved.") from exc
    if not found or not all(address_allowed(str(info[4][0]), allowed_networks=allowed) for info in found):
        raise AddressRefused
    return found


class Guard:
    """The sockets of one session, its allow-list, and its deadline.

    It holds a duplicate of each socket's descriptor, not the socket: TLS takes a socket's descriptor over
    into a new socket object and leaves the first one empty, so shutting that one down at the deadline
    would end nothing. A duplicate refers to the same connection, whatever object reads from it."""

    def __init__(self, *, deadline: float, check_addresses: bool, allowed_networks: Iterable[str]) -> None:
        self.check_addresses = check_addresses
        self.allowed_networks = list(allowed_networks)
        self.expired = False
        self._sockets: list[socket.socket] = []  # the duplicates
        self._lock = threading.Lock()
        self._timer = threading.Timer(deadline, self._expire)
        self._timer.daemon = True

    def connect(self, host: str, port: int, timeout: Any, source_address: Any) -> socket.socket:
        if self.check_addresses:
            candidates = resolve_checked(host, port, allowed_networks=self.allowed_networks)
        else:
            candidates = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        error: OSError = OSError(f"Could not connect to {host}.")
        for family, kind, proto, _, address in candidates:
            sock = socket.socket(family, kind, proto)
            watched = sock.dup()
            with self._lock:
                if self.expired:
                    sock.close()
                    watched.close()
                    raise TimeoutError("The time allowed ran out.")
                self._sockets.append(watched)
            try:
                if isinstance(timeout, int | float):
                    sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(address)
                return sock
            except OSError as exc:
                error = exc
                sock.close()
                with self._lock:
                    self._sockets.remove(watched)
                watched.close()
        raise error

    def start(self) -> None:
        """Start counting down to the deadline."""
        self._timer.start()

    def close(self) -> None:
        """Stop the timer and let go of the duplicates (the session closes its own sockets)."""
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):  # one not connected yet, or already closed by its peer
                    sock.shutdown(socket.SHUT_RDWR)


@functools.cache
def tls_context(extra_ca_file: str = "") -> ssl.SSLContext:
    """The context every guarded session checks servers' certificates with, made once a process: urllib3's
    defaults (TLS 1.2 or later, certificate and host name required), certifi's public authorities, and
    ``extra_ca_file``'s."""
    context = create_urllib3_context()
    context.load_verify_locations(cafile=certifi.where())
    if extra_ca_file:
        context.load_verify_locations(cafile=extra_ca_file)
    return context


def certificate_rejection(exc: BaseException | None) -> str:
    """Why the server's certificate was not accepted (OpenSSL's words), if that is why ``exc`` happened."""
    found = _wrapped(exc, ssl.SSLCertVerificationError)
    return str(found.verify_message or found.reason) if found else ""


def _adapter(guard: Guard, context: ssl.SSLContext) -> HTTPAdapter:
    class Connection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return guard.connect(self._dns_host, self.port, self.timeout, self.source_address)

    class SecureConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return guard.connect(self._dns_host, self.port, self.timeout, self.source_address)

    class Pool(HTTPConnectionPool):
        ConnectionCls = Connection

    class SecurePool(HTTPSConnectionPool):
        ConnectionCls = SecureConnection

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, ssl_context=context, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": SecurePool}

        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            if verify is not True:  # urllib3 would set the shared context's verify mode from it
                raise ValueError("A guarded session always checks certificates, against its own context.")
            super().cert_verify(conn, url, verify, cert)
            conn.ca_certs = conn.ca_cert_dir = None  # in the context already; named, urllib3 loads them again

    return Adapter(max_retries=0)


@contextlib.contextmanager
def guarded_session(
    *, deadline: float, check_addresses: bool = True, allowed_networks: Iterable[str] = (), extra_ca_file: str = ""
) -> Iterator[tuple[requests.Session, Guard]]:
    """A requests session whose connections are checked and whose whole use ends by ``deadline`` seconds;
    servers' certificates are checked against the public authorities and ``extra_ca_file``'s."""
    guard = Guard(deadline=deadline, check_addresses=check_addresses, allowed_networks=allowed_networks)
    session = requests.Session()
    session.trust_env = False
    adapter = _adapter(guard, tls_context(extra_ca_file))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    guard.start()
    try:
        yield session, guard
    finally:
        guard.close()
        session.close()


def refusal_in(exc: BaseException | None) -> AddressRefused | None:
    """The ``AddressRefused`` that requests and urllib3 wrapped, however deep, if any."""
    return _wrapped(exc, AddressRefused)


def _wrapped(exc: BaseException | None, kind: type[E]) -> E | None:
    """The exception of ``kind`` that requests and urllib3 wrapped, however deep, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, kind):
            return exc
        for arg in getattr(exc, "args", ()):
            for inner in (arg, getattr(arg, "reason", None)):
                if isinstance(inner, BaseException):
                    found = _wrapped(inner, kind)
                    if found:
                        return found
        exc = exc.__cause__ or exc.__context__
    return None
