"""A worker killed mid-analysis loses no image and analyses none twice."""

import pytest

from integrations.models import Delivery
from recognition.models import Image
from recognition.services.ingest import image_ingest
from recognition.services.sweeper import images_sweep_stuck
from tests import images
from tests.helpers import status_of, wait_for
from tests.workers import WorkerProcess, child_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_worker_killed_mid_analysis_is_finished_by_the_sweeper(media_root, tmp_path, settings, endpoint, receiver):
    slow = WorkerProcess(
        env=child_env(media_root=media_root, engine_options={"delay": 60}), log_path=tmp_path / "slow.log"
    )
    try:
        image = image_ingest(data=images.jpeg((120, 90), seed=31))
        wait_for(lambda: status_of(image.pk) == Image.Status.PROCESSING, timeout=60)
        slow.kill_hard()
    finally:
        slow.stop()

    image.refresh_from_db()
    assert image.status == Image.Status.PROCESSING, "a dead worker's claim stays until it is stale"
    assert image.attempts == 1
    assert "analysed" not in slow.log()

    # Nothing sweeps a claim younger than the time limit...
    assert images_sweep_stuck().reclaimed_processing == 0
    # ...and once it is older, the sweeper hands the image to a healthy worker.
    settings.FACESITE_PROCESSING_STALE_AFTER = 0
    healthy = WorkerProcess(env=child_env(media_root=media_root), log_path=tmp_path / "healthy.log")
    try:
        assert images_sweep_stuck().reclaimed_processing == 1
        wait_for(lambda: status_of(image.pk) == Image.Status.DONE, timeout=60)
        wait_for(lambda: Delivery.objects.filter(image=image, status="delivered").exists(), timeout=30)
    finally:
        healthy.stop()

    image.refresh_from_db()
    assert image.attempts == 2
    assert image.faces.count() == 1, "results stored exactly once"
    assert Delivery.objects.filter(image=image).count() == 1
    assert len(receiver.received) == 1, "the third party heard once"


def test_pool_child_killed_mid_analysis_is_redelivered_without_a_second_run(media_root, tmp_path, settings):
    """Only the pool process dies (OOM killer): the main process requeues the message (reject_on_worker_lost)."""
    import os
    import signal

    import psutil

    worker = WorkerProcess(
        env=child_env(media_root=media_root, engine_options={"delay": 60}), log_path=tmp_path / "w.log"
    )
    try:
        image = image_ingest(data=images.jpeg((120, 90), seed=32))
        wait_for(lambda: status_of(image.pk) == Image.Status.PROCESSING, timeout=60)
        [child] = psutil.Process(worker.process.pid).children()
        os.kill(child.pid, signal.SIGKILL)
        # The requeued message comes back to the worker, which finds the image claimed and leaves it.
        wait_for(lambda: "is not pending; skipping analysis" in worker.log(), timeout=60)
    finally:
        worker.stop()
    image.refresh_from_db()
    assert image.status == Image.Status.PROCESSING and image.attempts == 1
    assert "WorkerLostError" in worker.log()
