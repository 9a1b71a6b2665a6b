"""The URL fetcher's address check and deadline, over plain HTTP and HTTPS."""

import contextlib
import time

import pytest

from recognition.fetch import FetchRefused, fetch_image_bytes
from recognition.net import address_allowed
from tests.servers import TrickleServer, closed_port


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_host_name_that_lands_on_loopback_is_refused_before_anything_is_sent(image_server, scheme):
    url = image_server.url_for("cam.jpg").replace("http://127.0.0.1", f"{scheme}://localhost")
    with pytest.raises(FetchRefused, match=r"Refusing to fetch from a private, loopback") as refused:
        fetch_image_bytes(url)
    assert not refused.value.retryable
    assert image_server.requests == 0, "refused at connect time, before the request (or the TLS handshake)"


@pytest.mark.parametrize("image_server", ["https"], indirect=True)
def test_an_image_whose_servers_certificate_a_private_authority_signed_is_fetched_once_it_is_trusted(
    image_server, private_ca, settings
):
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    url = image_server.url_for("cam.jpg")
    untrusted = r"The certificate of 127.0.0.1 was not accepted \(unable to get local issuer certificate\)\. .*"
    with pytest.raises(FetchRefused, match=untrusted + "FACESITE_CA_BUNDLE") as refused:
        fetch_image_bytes(url)
    assert refused.value.retryable and image_server.requests == 0
    settings.FACESITE_CA_BUNDLE = str(private_ca.pem)
    assert fetch_image_bytes(url) == image_server.body


@pytest.fixture(params=["http", "https"])
def trickling(request, trusted_ca):
    """Starts a ``TrickleServer`` over HTTP or HTTPS (a certificate of ``trusted_ca``); its URL."""
    tls = trusted_ca.server_context() if request.param == "https" else None
    with contextlib.ExitStack() as servers:

        def start(**options) -> str:
            server = servers.enter_context(TrickleServer(tls=tls, **options))
            return f"{request.param}://127.0.0.1:{server.port}/slow.jpg"

        yield start


def test_a_server_that_trickles_its_body_is_cut_off_at_the_deadline(settings, trickling):
    settings.FACESITE_URL_FETCH_TIMEOUT = 2
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 1000\r\n\r\n"
    url = trickling(head=head, body=b"x" * 1000, interval=0.2)  # would take 200 s
    started = time.monotonic()
    with pytest.raises(FetchRefused, match="took longer than 2 s") as refused:
        fetch_image_bytes(url)
    assert refused.value.retryable
    assert time.monotonic() - started < 8, "ended by the deadline, not by the server"


def test_a_server_that_trickles_its_headers_is_cut_off_at_the_deadline(settings, trickling):
    settings.FACESITE_URL_FETCH_TIMEOUT = 2
    url = trickling(head=b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"a" * 4000 + b"\r\n\r\n", interval=0.05)
    started = time.monotonic()
    with pytest.raises(FetchRefused, match="took longer than 2 s"):
        fetch_image_bytes(url)
    assert time.monotonic() - started < 8, "ended by the deadline, not by the server"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_internal_targets_are_refused_alike_open_or_closed_and_never_connected_to(host):
    with TrickleServer(head=b"HTTP/1.1 200 OK\r\n\r\n") as server:
        messages = set()
        for port in (server.port, closed_port()):
            with pytest.raises(FetchRefused) as refused:
                fetch_image_bytes(f"http://{host}:{port}/cam.jpg")
            assert not refused.value.retryable
            messages.add(refused.value.message)
        assert server.connections == 0, "checked before connecting, so no port is ever probed"
    assert messages == {"Refusing to fetch from a private, loopback, link-local or reserved address."}


def test_a_host_that_does_not_exist_is_no_passing_failure():
    with pytest.raises(FetchRefused, match=r"^No host is called camera\.facesite\.invalid") as refused:
        fetch_image_bytes("https://camera.facesite.invalid/door.jpg")  # .invalid never resolves (RFC 6761)
    assert not refused.value.retryable


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 to the cloud metadata address
        ("64:ff9b::7f00:1", False),  # NAT64 to loopback
        ("2002:a9fe:a9fe::1", False),  # 6to4 around 169.254.169.254
        ("2002:a00:1::1", False),  # 6to4 around 10.0.0.1
        ("::ffff:192.168.1.10", False),
        ("fec0::1", False),  # site-local, deprecated but still routed inside some networks
        ("64:ff9b::808:808", True),  # what DNS64 answers for a public IPv4-only site on an IPv6-only network
        ("2002:808:808::1", True),
        ("2001:4860:4860::8888", True),
    ],
)
def test_an_ipv4_address_inside_an_ipv6_one_is_judged_as_the_address_it_reaches(address, allowed):
    assert address_allowed(address) is allowed
    if not allowed:
        with pytest.raises(FetchRefused, match="Refusing to fetch from a private"):
            fetch_image_bytes(f"http://[{address}]/cam.jpg")


def test_an_allowed_network_covers_the_ipv4_addresses_it_reaches_through_nat64():
    assert address_allowed("64:ff9b::a00:1", allowed_networks=["10.0.0.0/8"])
    assert not address_allowed("64:ff9b::c0a8:101", allowed_networks=["10.0.0.0/8"]), "192.168.1.1 is not in it"
