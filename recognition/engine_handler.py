"""Resolve the configured recognition engine once per process, like Django's storage handler."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from recognition.engines.base import BaseEngine
from recognition.validation import stored_pixel_limit

_lock = threading.Lock()
_engine: BaseEngine | None = None


def get_engine() -> BaseEngine:
    """The engine named by ``settings.RECOGNITION_ENGINE``, built on first use.

    Models load lazily inside the engine, never at import of settings, so web
    processes that never analyse pay nothing for them.
    """
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = _build(settings.RECOGNITION_ENGINE)
    return _engine


def engine_named(name: str) -> BaseEngine:
    """An engine of a kind listed in ``settings.RECOGNITION_ENGINES`` ("local", "rekognition"), with the
    options the settings hold for it: the configured engine itself when it is that kind."""
    backends = settings.RECOGNITION_ENGINES
    if name not in backends:
        raise ImproperlyConfigured(f"No engine is called {name!r}; choose from {', '.join(sorted(backends))}.")
    if backends[name] == settings.RECOGNITION_ENGINE["BACKEND"]:
        return get_engine()
    options = settings.REKOGNITION_OPTIONS if name == "rekognition" else {}
    return _build({"BACKEND": backends[name], "OPTIONS": options})


def _build(config: dict) -> BaseEngine:
    from recognition.face_store import DatabaseFaceStore
    from recognition.face_vectors import face_search

    backend = config.get("BACKEND")
    if not backend:
        raise ImproperlyConfigured("RECOGNITION_ENGINE needs a BACKEND.")
    try:
        engine_class = import_string(backend)
    except ImportError as exc:
        raise ImproperlyConfigured(f"RECOGNITION_ENGINE backend {backend!r} cannot be imported: {exc}") from exc
    options = {"max_pixels": stored_pixel_limit(), **config.get("OPTIONS", {})}
    return engine_class(face_store=DatabaseFaceStore(), face_search=face_search(), **options)


@receiver(setting_changed)
def _reset_engine(*, setting: str, **kwargs) -> None:
    global _engine
    if setting in ("RECOGNITION_ENGINE", "FACESITE_FACE_SEARCH", "FACESITE_MAX_IMAGE_PIXELS"):
        _engine = None
