"""Flower's settings, read by ``celery flower`` from the working directory (see Procfile). Every
top-level name here is taken as a Flower option, so the logging module goes by another name."""

import logging as _log

# At start Flower asks the workers for their details, usually before any is up, and warns for each
# question; it asks again by itself. Keep its log for real trouble.
_log.getLogger("flower").setLevel(_log.WARNING)
_log.getLogger("flower.inspector").setLevel(_log.ERROR)
