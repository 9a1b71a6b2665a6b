"""Queuing Celery tasks after commit, by name.

By name, so that services never import the task modules that import them: tasks
depend on services, never the reverse. The names are the tasks' registered names
(``<module>.<function>``); a test checks that each one is registered.
"""

from __future__ import annotations

from celery import current_app
from django.db import transaction

ANALYSE_IMAGE = "recognition.tasks.analyse_image"

# Work goes to queues by kind, so a backlog of one never holds up the others (docs/SCALING.md):
ANALYSIS = "analysis"  # the default analyses, which people and door checks wait on
TEXT = "text"  # analyses that read text: OCR takes seconds an image
DELIVERIES = "deliveries"  # XML to third-party endpoints
MAINTENANCE = "maintenance"  # the sweepers
VIDEO = "video"  # chunks of videos: minutes of work each video, never ahead of a door check's analysis
QUEUES = (ANALYSIS, TEXT, DELIVERIES, MAINTENANCE, VIDEO)


def analysis_queue(features: list[str]) -> str:
    return TEXT if "text" in features else ANALYSIS


def enqueue_after_commit(
    *, task: str, args: list[str], countdown: float | None = None, queue: str | None = None
) -> None:
    """Send ``task`` once the current transaction commits (at once outside one); to ``queue``, or to the
    one ``CELERY_TASK_ROUTES`` names for it."""
    transaction.on_commit(lambda: current_app.send_task(task, args=args, countdown=countdown, queue=queue))
