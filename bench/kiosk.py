"""The door kiosk end to end: from the badge's Enter to ACCEPTED on the screen, in headless Chromium.

    .venv/bin/python bench/kiosk.py [--rounds N]

A throw-away SQLite database with Barack Obama enrolled, Facesite's WSGI application on a loopback HTTP
server (one thread), and Debian's Chromium showing /kiosk/ with a fake camera that plays a photo of Obama
at 640×480. Each round types his badge and Enter, and times until the result is on the screen: the still
taken from the camera, the JPEG encoding, the upload, the check (decode, face detection, embedding, the
comparison, the verification record, the audit row) and the rendering. Then the same with the head-turn
challenge on, whose prompts take 2 s by design (the still camera fails it, as a photo should).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arguments import positive_int  # noqa: E402  (beside this script)
from scratch import scratch_folder  # noqa: E402  (beside this script)

os.environ["FACESITE_VAR_DIR"] = str(scratch_folder("facesite-bench-kiosk-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facesite.settings")
os.environ["RECOGNITION_ENGINE"] = "local"
os.environ["FACESITE_HTTPS"] = "off"  # the loopback server speaks plain http
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Playwright runs an event loop in this thread; the ORM calls between its steps are still synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

PASSWORD = "bench-kiosk-password"


def summary(name: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(f"{name:46} median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   (n={len(ordered)})")


def setup() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from backoffice import roles
    from kiosk.models import Kiosk
    from recognition.engine_handler import get_engine
    from recognition.models import Person
    from recognition.services.people import person_enroll

    call_command("migrate", verbosity=0)
    roles.sync_roles()
    obama = Person.objects.create(name="Barack Obama", external_id="OBAMA-44")
    person_enroll(person=obama, data=(ROOT / "tests" / "fixtures" / "obama3.jpg").read_bytes())
    user = get_user_model().objects.create_user("kiosk-bench", password=PASSWORD)
    user.groups.add(Group.objects.get(name=roles.KIOSK))
    Kiosk.objects.create(name="bench", location="Bench door", user=user)
    get_engine().models.load_all()


def serve() -> str:
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from django.contrib.staticfiles.handlers import StaticFilesHandler

    from facesite.wsgi import application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, StaticFilesHandler(application), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://localhost:{server.server_port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=positive_int, default=10)
    args = parser.parse_args()
    from tests.browser import CHROMIUM

    if not Path(CHROMIUM).exists():
        raise SystemExit("Needs Debian's Chromium (make browser).")
    setup()
    url = serve()
    from playwright.sync_api import sync_playwright

    from kiosk.models import Kiosk
    from recognition.models import Verification
    from tests.browser import launch
    from tests.images import FIXTURES, y4m

    video = Path(os.environ["FACESITE_VAR_DIR"]) / "camera.y4m"
    video.write_bytes(y4m([(FIXTURES / "obama.jpg").read_bytes()]))
    with sync_playwright() as playwright:
        browser = launch(playwright, camera=video)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url + "/kiosk/")
        page.fill("#id_username", "kiosk-bench")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")

        def rounds(n: int, result: str = "accepted") -> list[float]:
            times = []
            for _ in range(n + 1):  # the first round warms up
                page.wait_for_selector("#kiosk[data-state=ready]", timeout=30_000)
                page.keyboard.type("OBAMA-44")
                start = time.perf_counter()
                page.keyboard.press("Enter")
                page.wait_for_selector(f"#kiosk[data-state={result}]", timeout=30_000)
                times.append((time.perf_counter() - start) * 1000)
            return times[1:]

        print(f"Door kiosk on the local engine, {args.rounds} rounds each, Chromium and server on this machine")
        summary("badge Enter -> ACCEPTED on screen", rounds(args.rounds))
        Kiosk.objects.update(liveness=True)
        page.reload()
        # A still camera cannot turn its head: every round ends REJECTED, after the whole challenge.
        summary("with the challenge -> REJECTED (not live)", rounds(args.rounds, result="rejected"))
        print(
            f"  (of which the prompts take {2 * 5 * 200} ms by design; outcomes recorded: "
            f"{sorted(set(Verification.objects.values_list('outcome', flat=True)))})"
        )
        browser.close()


if __name__ == "__main__":
    main()
