"""Models built on this machine from packaged ones (the int8 moderation model, OCR models without subnormal
weights), kept on disk so the next process loads them instead of building them again.

A kept file's name carries a hash of everything it was built from, so new packaged weights (or a new
onnxruntime) build a new file instead of loading a stale one. A cache directory that cannot be written
only costs a warning, and a rebuild in every process for a model that is loaded from bytes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)


def kept(cache_dir: Path | None, name: str, source: bytes, build: Callable[[], bytes]) -> bytes:
    """The model ``build`` makes from ``source`` (what the result depends on): from ``cache_dir`` when an
    earlier process kept it there, else built now, and kept where the cache can be written."""
    path = _path(cache_dir, name, source)
    if path is not None and path.is_file():
        return path.read_bytes()
    data = build()
    if path is not None:
        _keep(path, lambda: data)
    return data


def kept_file(cache_dir: Path | None, name: str, source: bytes, build: Callable[[], bytes]) -> Path | None:
    """Like ``kept``, for a caller that loads models from paths and has one of its own to fall back on: the
    kept file, or None where there is no cache or it cannot be written, found before anything is built."""
    path = _path(cache_dir, name, source)
    if path is None or path.is_file():
        return path
    return path if _keep(path, build) else None


def _path(cache_dir: Path | None, name: str, source: bytes) -> Path | None:
    return cache_dir / f"{name}-{hashlib.sha256(source).hexdigest()[:16]}.onnx" if cache_dir else None


def _keep(path: Path, build: Callable[[], bytes]) -> bool:
    """Write what ``build`` returns to ``path`` atomically; False (with a warning) where the disk refuses,
    and then without building when it refuses the temporary file beside ``path``."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "wb") as file:
            file.write(build())
        os.replace(temporary, path)
        return True
    except OSError as exc:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        logger.warning("Could not keep the model %s (%s); it will be built again next time.", path, exc)
        return False
