"""Models built on this machine from packaged ones (the int8 moderation model, OCR models without subnormal
weights), kept on disk so the next process loads them instead of building them again.

A kept file's name carries a hash of everything it was built from, so new packaged weights (or a new
onnxruntime) build a new file instead of loading a stale one. A cache directory that cannot be written
only costs a warning and a rebuild in every process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)


def kept(cache_dir: Path | None, name: str, source: bytes, build: Callable[[], bytes]) -> tuple[bytes, Path | None]:
    """The model ``build`` makes from ``source`` (what the result depends on), from ``cache_dir`` when an
    earlier process kept it there, else built now and kept; with the kept file's path, or None where the
    model could not be kept."""
    path = cache_dir / f"{name}-{hashlib.sha256(source).hexdigest()[:16]}.onnx" if cache_dir else None
    if path is not None and path.is_file():
        return path.read_bytes(), path
    data = build()
    return data, path if path is not None and _keep(path, data) else None


def _keep(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically; False (with a warning) where the disk refuses."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
        return True
    except OSError as exc:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        logger.warning("Could not keep the model %s (%s); it will be built again next time.", path, exc)
        return False
