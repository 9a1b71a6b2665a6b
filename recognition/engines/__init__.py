"""Recognition engines: image bytes in, plain dataclasses out (see ``base``)."""
