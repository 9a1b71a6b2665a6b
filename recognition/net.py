"""Outgoing HTTP that cannot be turned against the network inside, nor held open forever.

Both the URL fetcher (uploads by URL) and the delivery sender (POSTs to endpoints) use
``guarded_session``:

* **Addresses are checked before connecting.** The host name is resolved here and every
  address it resolves to is checked; only then is a socket opened, to one of those same
  addresses (so a second, different DNS answer cannot slip through). Loopback, private,
  link-local (cloud metadata), multicast, reserved and unspecified addresses are refused,
  IPv4 and IPv6, unless a network is on the caller's allow-list; an IPv4 address inside an
  IPv6 one (mapped, NAT64, 6to4) is judged as the IPv4 address it reaches. A refused target gets the
  same message whatever its port or state: nothing is learnt about what runs inside.
* **A hard deadline bounds the whole exchange.** Socket timeouts bound each read, so a
  server sending a byte every few seconds would never trip them; when the deadline passes,
  a timer shuts the session's sockets down, which ends any read in progress.
* **Connections can be kept** (``kept_session``, for deliveries, which go to the same few endpoints):
  a thread keeps its session between uses, each use with its own deadline. A connection is checked
  once, when it is opened; a session whose deadline passed is never used again. A request that
  fails on a kept connection (the server closed it as it was being used) is sent once more, on a
  new connection.
* No proxies from the environment: the checks must see the real peer.
* **Certificates are checked against one context a process**: certifi's public authorities, and those of
  ``FACESITE_CA_BUNDLE``. Loading them takes tens of milliseconds, which urllib3 would spend again on
  every new connection.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

import certifi
import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.ssl_ import create_urllib3_context

logger = logging.getLogger(__name__)
REFUSED = "a private, loopback, link-local or reserved address"
E = TypeVar("E", bound=BaseException)
CA_BUNDLE_HINT = "If your own certificate authority signs it, name that authority's PEM file in FACESITE_CA_BUNDLE."


class HostNotFound(OSError):
    """DNS answered that the host name does not exist (or has no address): trying again will not help, unlike
    a resolver that cannot answer now."""

    def __init__(self, host: str) -> None:
        super().__init__(f"No host is called {host}: DNS knows no address for it.")


#: getaddrinfo's answers that the name has no address, as opposed to a failure to ask (EAI_AGAIN, EAI_FAIL).
_NO_SUCH_HOST = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


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


#: RFC 6052's well-known prefix: a NAT64 gateway carries 64:ff9b::a.b.c.d to the IPv4 address a.b.c.d.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def destination(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Where a connection to ``ip`` (a ``plain_address``) ends: the IPv4 address inside a NAT64 (``64:ff9b::/96``)
    or 6to4 (``2002::/16``) address, which gateways and relays carry it to; ``ip`` itself otherwise."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour:
            return ip.sixtofour
    return ip


def address_allowed(address: str, *, allowed_networks: Iterable[str] = ()) -> bool:
    """Whether ``address`` may be connected to: a public address, judged by where it ends (``destination``),
    or one in ``allowed_networks``."""
    given = plain_address(address)
    ip = destination(given)
    if any(given in net or ip in net for net in map(ipaddress.ip_network, allowed_networks)):
        return True
    deprecated_site_local = isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local  # fec0::/10
    refused = ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local or deprecated_site_local
    return ip.is_global and not refused


def resolve_checked(host: str, port: int, *, allowed_networks: Iterable[str] = ()) -> list[tuple[Any, ...]]:
    """Every address ``host`` resolves to, once all of them are allowed; ``AddressRefused`` otherwise."""
    allowed = list(allowed_networks)
    try:
        found = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno in _NO_SUCH_HOST:
            raise HostNotFound(host) from exc
        raise OSError(f"The host name {host} cannot be resolved now.") from exc
    if not found or not all(address_allowed(str(info[4][0]), allowed_networks=allowed) for info in found):
        raise AddressRefused
    return found


class Guard:
    """The sockets of one session, its allow-list, and the deadline of its current use.

    It holds a duplicate of each socket's descriptor, not the socket: TLS takes a socket's descriptor over
    into a new socket object and leaves the first one empty, so shutting that one down at the deadline
    would end nothing. A duplicate refers to the same connection, whatever object reads from it; it is
    closed with its connection (``release``), or the connection would stay open for as long as the guard."""

    def __init__(self, *, check_addresses: bool, allowed_networks: Iterable[str]) -> None:
        self.check_addresses = check_addresses
        self.allowed_networks = list(allowed_networks)
        self.expired = False
        self.connects = 0  # connections attempted, so a failure can tell whether it was on a new one
        self._sockets: dict[object, socket.socket] = {}  # each connection's duplicate
        self._lock = threading.Lock()

    def connect(
        self, owner: object, host: str, port: int, timeout: Any, source_address: Any, options: Iterable[Any] = ()
    ) -> socket.socket:
        """A socket connected for ``owner`` (a connection object) to an allowed address of ``host``, with
        the socket ``options`` urllib3 would have set (``TCP_NODELAY``)."""
        self.connects += 1
        if self.check_addresses:
            candidates = resolve_checked(host, port, allowed_networks=self.allowed_networks)
        else:
            candidates = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        error: OSError = OSError(f"Could not connect to {host}.")
        for family, kind, proto, _, address in candidates:
            sock = socket.socket(family, kind, proto)
            self.release(owner)  # its previous socket, if it reconnects
            with self._lock:
                if self.expired:
                    sock.close()
                    raise TimeoutError("The time allowed ran out.")
                self._sockets[owner] = sock.dup()
            try:
                for option in options:
                    sock.setsockopt(*option)
                if isinstance(timeout, int | float):
                    sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(address)
                return sock
            except OSError as exc:
                error = exc
                sock.close()
                self.release(owner)
        raise error

    def release(self, owner: object) -> None:
        """Let go of ``owner``'s duplicate: its connection closed."""
        with self._lock:
            watched = self._sockets.pop(owner, None)
        if watched is not None:
            watched.close()

    @contextlib.contextmanager
    def limit(self, deadline: float) -> Iterator[None]:
        """Shut every socket down if ``deadline`` seconds pass before the block ends; the guard then stays
        expired, and connects no more."""
        timer = threading.Timer(deadline, self._expire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def close(self) -> None:
        """Let go of every duplicate (the session closes its own sockets)."""
        with self._lock:
            watched, self._sockets = list(self._sockets.values()), {}
        for sock in watched:
            sock.close()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets.values():
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
    class Guarded:
        """Connects through the guard, and tells it when the connection closes."""

        _dns_host: str
        port: int
        timeout: Any
        source_address: Any
        socket_options: Any

        def _new_conn(self) -> socket.socket:
            return guard.connect(
                self, self._dns_host, self.port, self.timeout, self.source_address, self.socket_options or ()
            )

        def close(self) -> None:
            try:
                super().close()  # type: ignore[misc]
            finally:
                guard.release(self)

    class Connection(Guarded, HTTPConnection):
        pass

    class SecureConnection(Guarded, HTTPSConnection):
        pass

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

        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
            connects = guard.connects
            try:
                return super().send(request, *args, **kwargs)
            except requests.ConnectionError as exc:
                if guard.connects != connects or guard.expired or isinstance(exc, requests.Timeout):
                    raise  # a new connection failed, or time ran out: the caller hears why
                # The request went out on a kept connection, which the server closed as it arrived
                # (servers close idle connections when they choose): once more, on a new one.
                where = urlsplit(request.url or "")  # host and port only: a URL's query may hold a secret
                logger.info("%s to %s:%s: the kept connection failed (%s); sent again on a new one.",
                            request.method, where.hostname, where.port, type(exc).__name__)  # fmt: skip
                return super().send(request, *args, **kwargs)

    return Adapter(max_retries=0)


class _Session:
    """A requests session through a guard of its own, made for one set of checks (``options``: whether to check
    addresses, the allowed networks, the extra authorities' file); and when it was last used."""

    def __init__(self, options: tuple[bool, tuple[str, ...], str]) -> None:
        check_addresses, allowed_networks, extra_ca_file = self.options = options
        self.pid = os.getpid()
        self.guard = Guard(check_addresses=check_addresses, allowed_networks=allowed_networks)
        self.session = requests.Session()
        self.session.trust_env = False
        adapter = _adapter(self.guard, tls_context(extra_ca_file))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.last_used = time.monotonic()

    def usable(self, options: tuple[bool, tuple[str, ...], str], keep_for: float) -> bool:
        fresh = time.monotonic() - self.last_used <= keep_for
        return fresh and options == self.options and self.pid == os.getpid() and not self.guard.expired

    def close(self) -> None:
        self.session.close()
        self.guard.close()


@contextlib.contextmanager
def _used_once(options: tuple[bool, tuple[str, ...], str], deadline: float) -> Iterator[tuple[requests.Session, Guard]]:
    used = _Session(options)
    try:
        with used.guard.limit(deadline):
            yield used.session, used.guard
    finally:
        used.close()


def guarded_session(
    *, deadline: float, check_addresses: bool = True, allowed_networks: Iterable[str] = (), extra_ca_file: str = ""
) -> contextlib.AbstractContextManager[tuple[requests.Session, Guard]]:
    """A requests session whose connections are checked and whose whole use ends by ``deadline`` seconds;
    servers' certificates are checked against the public authorities and ``extra_ca_file``'s."""
    return _used_once((check_addresses, tuple(allowed_networks), extra_ca_file), deadline)


_kept = threading.local()


@contextlib.contextmanager
def kept_session(
    *,
    deadline: float,
    keep_for: float,
    check_addresses: bool = True,
    allowed_networks: Iterable[str] = (),
    extra_ca_file: str = "",
) -> Iterator[tuple[requests.Session, Guard]]:
    """As ``guarded_session``, but the session and its open connections are kept for this thread's next use
    with the same checks, if it comes within ``keep_for`` seconds (0: never kept)."""
    options = (check_addresses, tuple(allowed_networks), extra_ca_file)
    if keep_for <= 0:
        with _used_once(options, deadline) as used:
            yield used
        return
    kept: _Session | None = getattr(_kept, "session", None)
    if kept is None or not kept.usable(options, keep_for):
        if kept is not None and kept.pid == os.getpid():  # a forked child leaves its parent's alone
            kept.close()
        kept = _kept.session = _Session(options)
    finished = False
    try:
        with kept.guard.limit(deadline):
            yield kept.session, kept.guard
        finished = True
    finally:
        kept.last_used = time.monotonic()
        # Cut off at the deadline, its sockets are shut down; interrupted (a worker's time limit), it may
        # hold a connection in the middle of an exchange: either way, not kept.
        if kept.guard.expired or not finished:
            kept.close()
            _kept.session = None


def refusal_in(exc: BaseException | None) -> AddressRefused | None:
    """The ``AddressRefused`` that requests and urllib3 wrapped, however deep, if any."""
    return _wrapped(exc, AddressRefused)


def host_not_found_in(exc: BaseException | None) -> HostNotFound | None:
    """The ``HostNotFound`` that requests and urllib3 wrapped, however deep, if any."""
    return _wrapped(exc, HostNotFound)


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
