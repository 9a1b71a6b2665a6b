"""Work goes to queues by kind, so a backlog of slow text reading never holds up a plain analysis or a
delivery (a real worker process consuming every queue)."""

import pytest
from django.conf import settings as django_settings

from integrations.models import Delivery
from recognition.models import Image
from recognition.services import queue
from recognition.services.ingest import image_ingest
from tests import images
from tests.helpers import status_of, wait_for
from tests.workers import WorkerProcess, child_env, empty_queues


def test_each_kind_of_work_has_its_queue():
    from facesite.celery import app

    assert tuple(q.name for q in app.amqp.queues.values()) == queue.QUEUES, "every queue is consumed"
    route = app.amqp.router.route
    assert route({}, "integrations.tasks.send_delivery")["queue"].name == queue.DELIVERIES
    assert route({}, "recognition.tasks.sweep_stuck_images")["queue"].name == queue.MAINTENANCE
    assert route({}, "integrations.tasks.sweep_deliveries")["queue"].name == queue.MAINTENANCE
    assert route({}, queue.ANALYSE_IMAGE)["queue"].name == django_settings.CELERY_TASK_DEFAULT_QUEUE == queue.ANALYSIS
    assert queue.analysis_queue(["labels", "faces", "text"]) == queue.TEXT
    assert queue.analysis_queue(["labels", "faces", "moderation"]) == queue.ANALYSIS


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_analysis_and_its_delivery_overtake_a_backlog_of_text_reading(media_root, tmp_path, endpoint):
    empty_queues()  # else messages other tests left take the analysis queue's turns before ours
    worker = WorkerProcess(
        env=child_env(media_root=media_root, engine_options={"text_delay": 1.5}), log_path=tmp_path / "w.log"
    )
    try:
        backlog = [image_ingest(data=images.jpeg((120, 90), seed=60 + i), features=["text"]) for i in range(5)]
        wait_for(lambda: status_of(backlog[0].pk) == Image.Status.PROCESSING, timeout=60)
        plain = image_ingest(data=images.jpeg((120, 90), seed=70))
        wait_for(lambda: Delivery.objects.filter(image=plain, status="delivered").exists(), timeout=60)
        wait_for(lambda: all(status_of(i.pk) == Image.Status.DONE for i in backlog), timeout=60)
    finally:
        worker.stop()

    finished = {image.pk: image.analysed_at for image in Image.objects.all()}
    text_done = sorted(finished[i.pk] for i in backlog)
    assert finished[plain.pk] < text_done[2], "analysed while most of the text backlog still waited"
    delivered = Delivery.objects.get(image=plain).delivered_at
    assert delivered < text_done[-1], "and told the endpoint before the backlog was through"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_workers_run_nicer_than_the_web_so_uploads_answer_while_they_work(media_root, tmp_path):
    import os

    import psutil

    worker = WorkerProcess(env=child_env(media_root=media_root), log_path=tmp_path / "w.log")
    try:
        wait_for(lambda: "ready." in worker.log(), timeout=60)
        main = psutil.Process(worker.process.pid)
        pool = main.children()
        assert pool, "the prefork pool is up"
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert main.nice() == min(19, ours + django_settings.FACESITE_WORKER_NICE)
        assert all(child.nice() == main.nice() for child in pool)
    finally:
        worker.stop()
