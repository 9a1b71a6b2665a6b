"""Sending deliveries: time and CPU per delivery with and without kept connections, over HTTP and HTTPS,
to a receiver on loopback and to one a round trip away.

    .venv/bin/python bench/deliveries.py [--deliveries 200] [--rtt 0 20 80]

In-process, on a throw-away SQLite database: the deliveries of as many analysed images are sent one after
the other by one thread, as a thread of the delivery worker sends them, each claimed, recorded and
signed as always. The receiver keeps connections open (HTTP/1.1), as most web servers do; over HTTPS its
certificate is signed by an authority of the benchmark's own, trusted through FACESITE_CA_BUNDLE. With a
round trip above 0, the deliveries go through a relay on loopback that holds every chunk for half of it
each way, and a new connection's first bytes for one more round trip (TCP's handshake), as the network to
a distant receiver would. Each case is sent with connections kept
(FACESITE_DELIVERY_KEEP_ALIVE=30) and with one connection a delivery (0), alternated.

CPU per delivery is this process's: the sender, the receiver's side of every exchange, and the relay's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arguments import positive_int  # noqa: E402  (beside this script)
from scratch import scratch_folder  # noqa: E402  (beside this script)

VAR = scratch_folder("facesite-bench-deliveries-")
os.environ.update(
    {
        "FACESITE_VAR_DIR": str(VAR),
        "DATABASE_URL": f"sqlite:///{VAR}/facesite.sqlite3",
        "DJANGO_SETTINGS_MODULE": "facesite.settings",
        "RECOGNITION_ENGINE": "local",
        "FACESITE_URL_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
        "LOG_LEVEL": "WARNING",
    }
)


class Relay:
    """Forwards each TCP connection to ``port`` on loopback, holding every chunk ``delay`` seconds on its way,
    in both directions."""

    def __init__(self, port: int, delay: float) -> None:
        self.target, self.delay = port, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # The client's connect returned at once, on loopback; across a network it would have taken a
            # round trip, so what it sends first arrives a round trip later than it would here.
            self._pipe(client, upstream, not_before=time.monotonic() + 2 * self.delay)
            self._pipe(upstream, client)

    def _pipe(self, source: socket.socket, sink: socket.socket, not_before: float = 0.0) -> None:
        chunks: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

        def read() -> None:
            data = b"-"
            while data:
                try:
                    data = source.recv(65536)
                except OSError:
                    data = b""
                chunks.put((max(time.monotonic(), not_before) + self.delay, data))

        def write() -> None:
            while True:
                due, data = chunks.get()
                time.sleep(max(0.0, due - time.monotonic()))
                with contextlib.suppress(OSError):
                    if not data:
                        sink.shutdown(socket.SHUT_WR)
                        return
                    sink.sendall(data)

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()


def prepare(count: int) -> list:
    """The deliveries of ``count`` analysed images (small ones: the analysis is not what is measured)."""
    import django

    django.setup()
    from django.core.management import call_command

    from integrations.models import Delivery, Endpoint
    from recognition.services.analysis import image_analyse
    from recognition.services.ingest import image_ingest
    from tests import images

    call_command("migrate", verbosity=0)
    Endpoint.objects.create(name="bench", url="http://127.0.0.1/", secret="bench-secret", timeout_seconds=10,
                            events=["image.analysed"])  # fmt: skip
    print(f"analysing {count} small images for their deliveries…", flush=True)
    for seed in range(count):
        image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=seed)).pk)
    return list(Delivery.objects.values_list("pk", flat=True))


def send_all(deliveries: list, url: str, keep_for: float) -> tuple[list[float], float]:
    """Send every delivery once to ``url``: each one's milliseconds, and the CPU milliseconds per delivery."""
    from django.conf import settings
    from django.utils import timezone

    from integrations.models import Delivery, Endpoint
    from integrations.services import sending

    settings.FACESITE_DELIVERY_KEEP_ALIVE = keep_for
    Endpoint.objects.update(url=url)
    Delivery.objects.update(status=Delivery.Status.PENDING, next_attempt_at=timezone.now(), attempts=0)
    times = []
    cpu = time.process_time()
    for pk in deliveries:
        start = time.perf_counter()
        delivered = sending.delivery_send(delivery_id=pk)
        times.append((time.perf_counter() - start) * 1000)
        if delivered is None or Delivery.objects.get(pk=pk).status != Delivery.Status.DELIVERED:
            raise SystemExit(f"delivery {pk} was not delivered: {Delivery.objects.get(pk=pk).last_error}")
    return times, (time.process_time() - cpu) * 1000 / len(deliveries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=positive_int, default=200)
    parser.add_argument("--rtt", type=float, nargs="+", default=[0.0, 20.0, 80.0], help="round trips, in ms")
    args = parser.parse_args()
    deliveries = prepare(args.deliveries)

    from django.conf import settings

    from tests.receiver import Receiver
    from tests.servers import PrivateAuthority

    authority = PrivateAuthority(VAR)
    settings.FACESITE_CA_BUNDLE = str(authority.pem)
    print(f"{len(deliveries)} deliveries in a row, one thread, {os.cpu_count()} cores")
    print(f"{'scheme':>6} {'round trip':>10} {'connections':>12} {'p50 / p95':>17} {'per second':>10} {'CPU each':>9}")
    for tls in (None, authority.server_context()):
        receiver = Receiver(tls=tls, keep_alive=True).start()
        port = receiver.server.server_address[1]
        for rtt in args.rtt:
            relayed = Relay(port, rtt / 2000).port if rtt else port
            url = f"{receiver.scheme}://127.0.0.1:{relayed}/events"
            for keep_for, label in ((0.0, "one each"), (30.0, "kept"), (0.0, "one each"), (30.0, "kept")):
                times, cpu = send_all(deliveries, url, keep_for)
                p50, p95 = statistics.median(times), statistics.quantiles(times, n=20)[18]
                print(
                    f"{receiver.scheme:>6} {rtt:>7.0f} ms {label:>12} {p50:>7.1f} / {p95:>5.1f} ms "
                    f"{1000 / statistics.mean(times):>8.1f} {cpu:>6.1f} ms",
                    flush=True,
                )
        receiver.stop()


if __name__ == "__main__":
    main()
