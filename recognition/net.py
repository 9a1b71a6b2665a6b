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
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

REFUSED = "a private, loopback, link-local or reserved address"


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
    """The sockets of one session, its allow-list, and its deadline."""

    def __init__(self, *, deadline: float, check_addresses: bool, allowed_networks: Iterable[str]) -> None:
        self.check_addresses = check_addresses
        self.allowed_networks = list(allowed_networks)
        self.expired = False
        self._sockets: list[socket.socket] = []
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
            with self._lock:
                if self.expired:
                    sock.close()
                    raise TimeoutError("The time allowed ran out.")
                self._sockets.append(sock)
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
        raise error

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _adapter(guard: Guard) -> HTTPAdapter:
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
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": SecurePool}

    return Adapter(max_retries=0)


@contextlib.contextmanager
def guarded_session(
    *, deadline: float, check_addresses: bool = True, allowed_networks: Iterable[str] = ()
) -> Iterator[tuple[requests.Session, Guard]]:
    """A requests session whose connections are checked and whose whole use ends by ``deadline`` seconds."""
    guard = Guard(deadline=deadline, check_addresses=check_addresses, allowed_networks=allowed_networks)
    session = requests.Session()
    session.trust_env = False
    adapter = _adapter(guard)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    guard._timer.start()
    try:
        yield session, guard
    finally:
        guard._timer.cancel()
        session.close()


def refusal_in(exc: BaseException | None) -> AddressRefused | None:
    """The ``AddressRefused`` that requests and urllib3 wrapped, however deep, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, AddressRefused):
            return exc
        for arg in getattr(exc, "args", ()):
            for inner in (arg, getattr(arg, "reason", None)):
                if isinstance(inner, BaseException):
                    found = refusal_in(inner)
                    if found:
                        return found
        exc = exc.__cause__ or exc.__context__
    return None
