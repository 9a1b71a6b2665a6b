"""Reading objects from S3 for the worker and the Rekognition-compatible API: against a real S3-compatible
server on loopback (moto's standalone server), S3's refusals told apart from its passing failures."""

from __future__ import annotations

import io

import pytest

from recognition.fetch import FetchRefused, TooLarge
from recognition.s3_objects import S3Object, s3_size, s3_to_file
from tests import servers


@pytest.fixture
def s3(settings, monkeypatch):
    with servers.s3_read_from(settings, monkeypatch, "cameras") as client:
        yield client


@pytest.mark.parametrize(
    "key", ["door.mp4", "2026/12/07/door.mp4", "door cam/week #49?.mp4", "porte/entrée 100%.mkv", "/leading.mp4"]
)
def test_an_object_goes_into_a_url_and_comes_back_the_same(key):
    found = S3Object(bucket="cameras", key=key, version="3/L4kq+tJl=")
    url = found.url
    assert url.startswith("s3://cameras/") and " " not in url and "#" not in url
    assert S3Object.from_url(url) == found
    assert S3Object.from_url(S3Object("cameras", key).url) == S3Object("cameras", key)
    assert found.name == key.rsplit("/", 1)[-1]
    assert S3Object.from_param(found.as_param()) == found and "Version" not in S3Object("cameras", key).as_param()
    assert S3Object.named(str(S3Object("cameras", key))) == S3Object("cameras", key), "as people write it"


def test_only_s3_urls_name_an_object():
    with pytest.raises(ValueError, match="Not an s3:// URL"):
        S3Object.from_url("https://cameras.s3.amazonaws.com/door.mp4")


def test_an_object_is_read_whole_within_its_limits_and_refused_past_them(s3):
    body = bytes(range(256)) * 9000  # 2.2 MB: three of the reader's chunks
    s3.put_object(Bucket="cameras", Key="door.mp4", Body=body)
    found = S3Object("cameras", "door.mp4")
    assert s3_size(found) == len(body)
    sink = io.BytesIO()
    assert s3_to_file(found, sink, limit=len(body)) == len(body) and sink.getvalue() == body

    with pytest.raises(FetchRefused) as slow:
        s3_to_file(found, io.BytesIO(), limit=len(body), timeout=0.0)
    assert slow.value.retryable and "took longer than 0 s" in slow.value.message

    sink = io.BytesIO()
    with pytest.raises(TooLarge):
        s3_to_file(found, sink, limit=len(body) - 1)
    assert len(sink.getvalue()) < len(body), "stopped at the chunk that passed the limit, not written"


def test_what_is_not_there_is_refused_for_good_and_s3_down_for_now(s3, settings):
    for missing in (S3Object("cameras", "gone.mp4"), S3Object("no-such-bucket", "door.mp4")):
        with pytest.raises(FetchRefused) as refused:
            s3_to_file(missing, io.BytesIO(), limit=1000)
        assert not refused.value.retryable and missing.url in refused.value.message
        with pytest.raises(FetchRefused) as refused:
            s3_size(missing)
        assert not refused.value.retryable

    settings.REKOGNITION_API_S3 = {"endpoint_url": f"http://127.0.0.1:{servers.closed_port()}", "region_name": "x"}
    with pytest.raises(FetchRefused) as down:
        s3_to_file(S3Object("cameras", "door.mp4"), io.BytesIO(), limit=1000)
    assert down.value.retryable and "could not be read" in down.value.message
