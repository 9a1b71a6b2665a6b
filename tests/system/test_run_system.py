"""`make run`'s launcher starts the whole system, which analyses an upload over real HTTP and tells an endpoint,
and Ctrl-C stops it all."""

import signal
import subprocess
import sys
import time

import psutil
import pytest
import requests

from backoffice import roles
from facesite.devredis import free_port, redis_reachable
from integrations.models import Endpoint
from tests import images
from tests.factories import UserFactory
from tests.helpers import http_get, token_for, wait_for
from tests.workers import ROOT, child_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_launcher_runs_web_workers_beat_flower_and_a_private_redis(media_root, tmp_path, receiver):
    token = token_for(UserFactory(role=roles.OPERATOR))
    Endpoint.objects.create(name="Door", url=receiver.url, secret="s", events=["image.analysed"])
    web_port, flower_port, redis_port = free_port(), free_port(), free_port()
    env = child_env(
        media_root=media_root,
        PORT=str(web_port),
        FLOWER_PORT=str(flower_port),
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",  # nothing listens there
        FACESITE_PRIVATE_REDIS_PORT=str(redis_port),
        FACESITE_WORKER_CONCURRENCY="1",
    )
    log = (tmp_path / "run.log").open("wb")
    launcher = subprocess.Popen(
        [sys.executable, "scripts/run.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    auth = {"Authorization": f"Token {token}"}
    try:
        api = f"http://127.0.0.1:{web_port}/api/"
        wait_for(lambda: (r := http_get(api, headers=auth)) is not None and r.status_code == 200, timeout=60)
        assert redis_reachable(f"redis://127.0.0.1:{redis_port}/0"), "the launcher started a private Redis"

        response = requests.post(
            f"{api}images/", headers=auth, files={"file": ("p.jpg", images.jpeg((200, 150), seed=41))}, timeout=10
        )
        assert response.status_code == 202, response.text
        image_url = f"{api}images/{response.json()['id']}/"
        wait_for(lambda: http_get(image_url, headers=auth).json()["status"] == "done", timeout=60)
        assert http_get(image_url, headers=auth).json()["faces"]
        # Sent by the second worker, whose threads send deliveries.
        wait_for(lambda: receiver.received, timeout=30)
        assert response.json()["id"].encode() in receiver.received[0].body

        # Face checks answered by either of gunicorn's processes are counted together in /metrics.
        photo = images.jpeg((200, 150), seed=42)
        for _ in range(4):
            compared = requests.post(f"{api}compare/", headers=auth, timeout=10,
                                     files={"source": ("a.jpg", photo), "target": ("b.jpg", photo)})  # fmt: skip
            assert compared.status_code == 200, compared.text
        metrics = http_get(f"http://127.0.0.1:{web_port}/metrics").text
        assert 'facesite_check_seconds_count{check="compare"} 4.0' in metrics
        assert 'facesite_images{status="done"} 1.0' in metrics

        flower = wait_for(lambda: http_get(f"http://127.0.0.1:{flower_port}/"), timeout=60)
        assert flower.status_code == 200
        processes = psutil.Process(launcher.pid).children(recursive=True)
        assert len(processes) >= 5
    finally:
        launcher.send_signal(signal.SIGINT)  # what Ctrl-C sends
        launcher.wait(60)
        log.close()
    output = (tmp_path / "run.log").read_text(errors="replace")
    assert f"http://127.0.0.1:{web_port}/api/" in output and "createsuperuser" in output
    assert launcher.returncode == 0 and "Facesite stopped." in output, "Ctrl-C is a clean stop, not an error"
    assert "Inspect method" not in output and "celery beat v" not in output, "start-up says only what matters"
    time.sleep(0.5)
    assert not [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], output[-3000:]
    assert http_get(f"http://127.0.0.1:{web_port}/api/") is None
    assert not redis_reachable(f"redis://127.0.0.1:{redis_port}/0")
