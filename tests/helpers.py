import time

from recognition.models import Image


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.1):
    """Poll until ``predicate()`` is truthy and return its value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def status_of(image_id) -> str:
    return Image.objects.values_list("status", flat=True).get(pk=image_id)
