"""Flower's settings, read by ``celery flower`` from the working directory (see Procfile). Every
top-level name here is taken as a Flower option, so the logging module goes by another name."""

import logging as _log

from django.conf import settings as _settings

# At start Flower asks the workers for their details, usually before any is up, and warns for each
# question; it asks again by itself. Keep its log for real trouble.
_log.getLogger("flower").setLevel(_log.WARNING)
_log.getLogger("flower.inspector").setLevel(_log.ERROR)

# Flower turns the workers' task events on every few seconds unless told not to; with FACESITE_TASK_EVENTS
# off (facesite/settings.py, which `celery -A facesite` has loaded by now) it leaves them off, as asked.
enable_events = _settings.FACESITE_TASK_EVENTS
