"""Fetching an image from a URL without letting the URL reach inside the network (SSRF).

* Only http and https, no credentials in the URL.
* Every address the host resolves to is checked before connecting (``recognition.net``):
  loopback, private, link-local (cloud metadata at 169.254.169.254), multicast, reserved
  and unspecified addresses are refused, IPv4 and IPv6, unless a network is listed in
  ``FACESITE_URL_FETCH_ALLOWED_NETWORKS``. Every refused target gets the same answer, so the
  fetcher tells nobody which internal hosts or ports exist.
* Redirects are followed by hand, at most a few, each one checked the same way.
* The body is read up to the upload size limit, and the whole fetch (connecting, redirects,
  headers, body) ends by ``FACESITE_URL_FETCH_TIMEOUT`` however slowly the server sends.
* A host that DNS says does not exist is no passing failure (not ``retryable``); a resolver or a
  server that cannot answer now is.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
from collections.abc import Iterable
from typing import IO
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from recognition.net import (
    CA_BUNDLE_HINT,
    REFUSED,
    Guard,
    address_allowed,
    certificate_rejection,
    guarded_session,
    host_not_found_in,
    refusal_in,
)

MAX_REDIRECTS = 3
USER_AGENT = "Facesite-Fetch/1"
REFUSED_MESSAGE = f"Refusing to fetch from {REFUSED}."


class FetchRefused(Exception):
    """The URL may not be fetched, or did not give an image; ``retryable`` when trying later may help."""

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class TooLarge(FetchRefused):
    """The body passed the size limit."""


def check_url(url: str) -> None:
    """What can be said of a URL before resolving it: scheme, credentials, and a literal address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchRefused("Only http:// and https:// URLs with a host name can be fetched.")
    if parts.username or parts.password:
        raise FetchRefused("URLs with credentials are not fetched.")
    with contextlib.suppress(ValueError):  # a host name, not an address: checked when connecting
        ipaddress.ip_address(parts.hostname)
        if not address_allowed(parts.hostname, allowed_networks=settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS):
            raise FetchRefused(REFUSED_MESSAGE)


def fetch_image_bytes(url: str) -> bytes:
    """The body at ``url``, or ``FetchRefused`` saying why not."""
    return fetch_bytes(
        url, limit=settings.FACESITE_MAX_UPLOAD_BYTES, timeout=settings.FACESITE_URL_FETCH_TIMEOUT, accept="image/*"
    )


def fetch_bytes(url: str, *, limit: int, timeout: float, accept: str) -> bytes:
    """The body at ``url``, at most ``limit`` bytes within ``timeout`` seconds, through the same guards as
    every fetch (no private networks unless allowed, redirects checked); ``FetchRefused`` saying why not."""
    body = io.BytesIO()
    fetch_to_file(url, body, limit=limit, timeout=timeout, accept=accept)
    return body.getvalue()


def fetch_to_file(url: str, sink: IO[bytes], *, limit: int, timeout: float, accept: str) -> int:
    """As ``fetch_bytes``, written to ``sink`` as it arrives (a large body never sits in memory whole);
    how many bytes were written."""
    with guarded_session(
        deadline=timeout,
        allowed_networks=settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS,
        extra_ca_file=settings.FACESITE_CA_BUNDLE,
    ) as (session, guard):
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url)
            try:
                response = session.get(
                    url, stream=True, allow_redirects=False, timeout=min(timeout, 10.0),
                    headers={"User-Agent": USER_AGENT, "Accept": accept},
                )  # fmt: skip
            except requests.RequestException as exc:
                raise _failure(exc, url, guard, timeout) from exc
            with response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                if response.status_code >= 500:
                    raise FetchRefused(f"The server answered HTTP {response.status_code}.", retryable=True)
                if response.status_code != 200:
                    raise FetchRefused(f"The server answered HTTP {response.status_code}.")
                declared = response.headers.get("Content-Length")
                if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
                    raise TooLarge(f"The file is {int(declared):,} bytes; the limit is {limit:,} bytes.")
                try:
                    size = copy_limited(response.iter_content(64 * 1024), sink, limit)
                except requests.RequestException as exc:
                    raise _failure(exc, url, guard, timeout) from exc
                if guard.expired:  # a body read until the connection closes ends quietly when cut off
                    raise FetchRefused(f"Fetching the URL took longer than {timeout:g} s.", retryable=True)
                return size
        raise FetchRefused(f"More than {MAX_REDIRECTS} redirects.")


def _failure(exc: requests.RequestException, url: str, guard: Guard, timeout: float) -> FetchRefused:
    if refusal_in(exc):
        return FetchRefused(REFUSED_MESSAGE)
    if missing := host_not_found_in(exc):
        return FetchRefused(str(missing))
    if guard.expired:
        return FetchRefused(f"Fetching the URL took longer than {timeout:g} s.", retryable=True)
    if isinstance(exc, requests.Timeout):
        return FetchRefused("The server did not answer in time.", retryable=True)
    if why := certificate_rejection(exc):
        host = urlsplit(url).hostname
        return FetchRefused(f"The certificate of {host} was not accepted ({why}). {CA_BUNDLE_HINT}", retryable=True)
    if isinstance(exc, requests.ConnectionError):
        return FetchRefused(f"Could not connect to {urlsplit(url).hostname}.", retryable=True)
    return FetchRefused(f"The URL could not be fetched: {exc}")


def copy_limited(chunks: Iterable[bytes], sink: IO[bytes], limit: int) -> int:
    """Copy ``chunks`` into ``sink``; how many bytes. ``TooLarge`` as soon as they pass ``limit``, before the
    chunk that passes it is written."""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"The file is larger than the limit of {limit:,} bytes.")
        sink.write(chunk)
    return size
