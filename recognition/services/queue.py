"""Queuing Celery tasks after commit, by name.

By name, so that services never import the task modules that import them: tasks
depend on services, never the reverse. The names are the tasks' registered names
(``<module>.<function>``); a test checks that each one is registered.
"""

from __future__ import annotations

from celery import current_app
from django.db import transaction

ANALYSE_IMAGE = "recognition.tasks.analyse_image"


def enqueue_after_commit(*, task: str, args: list[str], countdown: float | None = None) -> None:
    """Send ``task`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: current_app.send_task(task, args=args, countdown=countdown))
