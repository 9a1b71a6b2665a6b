import logging
import os
import time

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    celeryd_init,
    task_postrun,
    task_prerun,
    worker_process_init,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facesite.settings")

app = Celery("facesite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


@celeryd_init.connect
def _lower_priority(**kwargs) -> None:
    """Analysis takes every core it is given; at a lower priority it leaves the web (uploads, door checks)
    answering at once on a machine it shares, and still has the cores whenever the web is idle."""
    from django.conf import settings

    if settings.FACESITE_WORKER_NICE:
        os.nice(settings.FACESITE_WORKER_NICE)  # the pool processes are forked after this, and inherit it


@worker_process_init.connect
def _preload_engine(**kwargs) -> None:
    """A pool process loads the engine's models before it takes a task (``FACESITE_WORKER_PRELOAD``), so the
    first image after a worker starts, or after a pool process is replaced, does not wait for them."""
    from django.conf import settings

    if not settings.FACESITE_WORKER_PRELOAD:
        return
    from recognition.engine_handler import get_engine

    started = time.monotonic()
    try:
        get_engine().preload()
    except Exception:  # a broken engine must not kill the pool in a loop: its tasks will say what is wrong
        logger.exception("The recognition engine could not load its models; analyses will fail until it can.")
        return
    logger.info("Pool process %d ready: the engine's models loaded in %.1f s.", os.getpid(), time.monotonic() - started)


@task_prerun.connect
@task_postrun.connect
def _database_connections(sender=None, **kwargs) -> None:
    """Around each task what Django does around each request: a connection past ``DATABASE_CONN_MAX_AGE``,
    broken or left in a transaction is closed, and the one kept is checked before its next use. (Celery's
    own rule, a new connection for every task, is off: ``CELERY_DB_REUSE_MAX`` in settings.py.)"""
    if sender is not None and not sender.request.is_eager:
        from django.db import close_old_connections

        close_old_connections()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _json_logs(logger, **kwargs) -> None:
    from facesite.logs import json_worker_logs

    json_worker_logs(logger)
