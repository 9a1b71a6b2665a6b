"""Fetching an image from a URL without letting the URL reach inside the network (SSRF).

* Only http and https.
* The address checked is the one the socket actually connected to, so a name
  that resolves to a public address when checked and a private one when used
  (DNS rebinding) is still caught.
* Loopback, private, link-local (cloud metadata at 169.254.169.254), multicast,
  reserved and unspecified addresses are refused, IPv4 and IPv6, unless a
  network is listed in ``FACESITE_URL_FETCH_ALLOWED_NETWORKS``.
* Redirects are followed by hand, at most a few, each one checked the same way.
* The body is read up to the upload size limit, within an overall deadline.
"""

from __future__ import annotations

import contextlib
import ipaddress
import time
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_REDIRECTS = 3
USER_AGENT = "Facesite-Fetch/1"


class FetchRefused(Exception):
    """The URL may not be fetched, or did not give an image; ``retryable`` when trying later may help."""

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.retryable = retryable


def check_address(address: str) -> None:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for network in settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS:
        if ip in ipaddress.ip_network(network):
            return
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local:
        raise FetchRefused(f"Refusing to fetch from {ip}: a private, loopback, link-local or reserved address.")


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchRefused("Only http:// and https:// URLs with a host name can be fetched.")
    if parts.username or parts.password:
        raise FetchRefused("URLs with credentials are not fetched.")
    with contextlib.suppress(ValueError):  # a host name, not an address: checked once connected
        check_address(parts.hostname.strip("[]"))


class _PeerChecked:
    """Checks the address a new socket actually connected to, before a byte is sent (or TLS starts)."""

    def _new_conn(self):  # type: ignore[no-untyped-def]  # urllib3's, on the connection class mixed in after
        sock = super()._new_conn()  # type: ignore[misc]
        try:
            check_address(sock.getpeername()[0])
        except FetchRefused:
            sock.close()
            raise
        return sock


class _CheckedHTTPConnection(_PeerChecked, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_PeerChecked, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}
        self.poolmanager.key_fn_by_scheme = dict(self.poolmanager.key_fn_by_scheme)


def fetch_image_bytes(url: str) -> bytes:
    """The body at ``url``, or ``FetchRefused`` saying why not."""
    limit = settings.FACESITE_MAX_UPLOAD_BYTES
    deadline = time.monotonic() + settings.FACESITE_URL_FETCH_TIMEOUT
    session = requests.Session()
    session.trust_env = False  # no proxies from the environment: the checks must see the real peer
    adapter = _CheckedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchRefused("Fetching the URL took too long.", retryable=True)
            try:
                response = session.get(
                    url, stream=True, allow_redirects=False, timeout=min(remaining, 10.0),
                    headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
                )  # fmt: skip
            except FetchRefused:
                raise
            except requests.ConnectionError as exc:
                refused = _refusal_in(exc)
                if refused:
                    raise refused from exc
                raise FetchRefused(f"Could not connect to {urlsplit(url).hostname}.", retryable=True) from exc
            except requests.Timeout as exc:
                raise FetchRefused("The server did not answer in time.", retryable=True) from exc
            except requests.RequestException as exc:
                raise FetchRefused(f"The URL could not be fetched: {exc}") from exc
            with response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                if response.status_code >= 500:
                    raise FetchRefused(f"The server answered HTTP {response.status_code}.", retryable=True)
                if response.status_code != 200:
                    raise FetchRefused(f"The server answered HTTP {response.status_code}.")
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise FetchRefused(f"The file is {int(declared):,} bytes; the limit is {limit:,} bytes.")
                return _read_limited(response, limit, deadline)
        raise FetchRefused(f"More than {MAX_REDIRECTS} redirects.")
    finally:
        session.close()


def _read_limited(response, limit: int, deadline: float) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise FetchRefused(f"The file is larger than the limit of {limit:,} bytes.")
        if time.monotonic() > deadline:
            raise FetchRefused("Fetching the URL took too long.", retryable=True)
        chunks.append(chunk)
    return b"".join(chunks)


def _refusal_in(exc: BaseException | None) -> FetchRefused | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, FetchRefused):
            return exc
        for arg in getattr(exc, "args", ()):
            if isinstance(arg, BaseException):
                found = _refusal_in(arg)
                if found:
                    return found
            reason = getattr(arg, "reason", None)
            if isinstance(reason, BaseException):
                found = _refusal_in(reason)
                if found:
                    return found
        exc = exc.__cause__ or exc.__context__
    return None
