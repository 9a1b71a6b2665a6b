"""The URL fetcher's address check, over plain HTTP and HTTPS."""

import pytest

from recognition.fetch import FetchRefused, fetch_image_bytes


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_host_name_that_lands_on_loopback_is_refused_before_anything_is_sent(image_server, scheme):
    url = image_server.url_for("cam.jpg").replace("http://127.0.0.1", f"{scheme}://localhost")
    with pytest.raises(FetchRefused, match=r"Refusing to fetch from 127\.0\.0\.1") as refused:
        fetch_image_bytes(url)
    assert not refused.value.retryable
    assert image_server.requests == 0, "refused at connect time, before the request (or the TLS handshake)"
