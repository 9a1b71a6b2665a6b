import time

from recognition.models import Image


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.1, message=None):
    """Poll until ``predicate()`` is truthy and return its value; fail after ``timeout`` seconds, saying
    ``message()`` too when given (what the failure needs to be understood: a log, a figure)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s" + (f"\n{message()}" if message else ""))


def status_of(image_id) -> str:
    return Image.objects.values_list("status", flat=True).get(pk=image_id)
