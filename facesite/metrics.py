"""Prometheus metrics at ``/metrics``, read from the database and Redis when scraped.

Figures come from shared state (rows, queues), so any web process answers for the whole site; the one
kept by processes themselves, the face checks' latency, is added up across gunicorn's processes through
PROMETHEUS_MULTIPROC_DIR (recognition/services/check_timing.py). The analysis latency histogram counts
every analysed image still stored, by how long its last analysis took (claim to results); purging old
images lowers its counts, which Prometheus reads as a counter reset.

Who may read: clients in ``FACESITE_METRICS_ALLOWED_NETWORKS`` (loopback by default), or anyone sending
``Authorization: Bearer <FACESITE_METRICS_TOKEN>`` when that is set. Others get 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterator
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from integrations.models import Delivery
from recognition.models import Collection, Image
from recognition.net import plain_address
from recognition.services.check_timing import CHECK_SECONDS
from recognition.services.queue import QUEUES

#: Upper bounds (seconds) of the analysis latency buckets.
ANALYSIS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
#: Kombu's Redis transport keeps a queue's messages of priority p > 0 under "<queue>\x06\x16<p>".
PRIORITY_SEPARATOR, PRIORITY_STEPS = "\x06\x16", (3, 6, 9)


class FacesiteCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from (images_by_status(), deliveries_by_status(), enrolled_faces(), analysis_latency())
        yield queue_lengths()


def images_by_status() -> GaugeMetricFamily:
    return by_status(Image, "facesite_images", "Images stored, by analysis status.")


def deliveries_by_status() -> GaugeMetricFamily:
    return by_status(Delivery, "facesite_deliveries", "Deliveries to endpoints, by status.")


def by_status(model: type[Image] | type[Delivery], name: str, documentation: str) -> GaugeMetricFamily:
    """Rows of ``model`` counted by status, every status named (0 for none)."""
    gauge = GaugeMetricFamily(name, documentation, labels=["status"])
    counts = dict(model.objects.values_list("status").annotate(n=Count("pk")).order_by())
    for status in model.Status.values:
        gauge.add_metric([status], counts.get(status, 0))
    return gauge


def enrolled_faces() -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(
        "facesite_enrolled_faces", "Reference faces enrolled, by collection.", labels=["collection"]
    )
    enrolled = Count("reference_faces", filter=Q(reference_faces__is_reference=True))
    for name, n in Collection.objects.annotate(n=enrolled).values_list("name", "n"):
        gauge.add_metric([name], n)
    return gauge


def analysis_latency() -> HistogramMetricFamily:
    took = ExpressionWrapper(F("analysed_at") - F("claimed_at"), output_field=DurationField())
    analysed = Image.objects.filter(
        status=Image.Status.DONE, analysed_at__isnull=False, claimed_at__isnull=False
    ).annotate(took=took)
    sums = analysed.aggregate(
        count=Count("pk"),
        total=Sum("took"),
        **{f"le{i}": Count("pk", filter=Q(took__lte=timedelta(seconds=b))) for i, b in enumerate(ANALYSIS_BUCKETS)},
    )
    buckets = [(str(b), sums[f"le{i}"]) for i, b in enumerate(ANALYSIS_BUCKETS)] + [("+Inf", sums["count"])]
    total = sums["total"] or timedelta(0)
    return HistogramMetricFamily(
        "facesite_analysis_seconds",
        "How long the last analysis of each stored image took, from its claim by a worker to its results.",
        buckets=buckets,
        sum_value=total.total_seconds(),
    )


def queue_lengths() -> GaugeMetricFamily:
    gauge = GaugeMetricFamily("facesite_queue_length", "Tasks waiting in each Celery queue.", labels=["queue"])
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)
    with broker.pipeline() as pipe:
        for queue in QUEUES:
            for key in (queue, *(f"{queue}{PRIORITY_SEPARATOR}{p}" for p in PRIORITY_STEPS)):
                pipe.llen(key)
        lengths = pipe.execute()
    keys_per_queue = 1 + len(PRIORITY_STEPS)
    for i, queue in enumerate(QUEUES):
        gauge.add_metric([queue], sum(lengths[i * keys_per_queue : (i + 1) * keys_per_queue]))
    return gauge


def allowed(request: HttpRequest) -> bool:
    token = settings.FACESITE_METRICS_TOKEN
    sent = request.META.get("HTTP_AUTHORIZATION", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = plain_address(request.META.get("REMOTE_ADDR", ""))  # gunicorn on [::] sees ::ffff:127.0.0.1
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n) for n in settings.FACESITE_METRICS_ALLOWED_NETWORKS)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        return HttpResponse(
            "Metrics are readable from FACESITE_METRICS_ALLOWED_NETWORKS or with the bearer token "
            "FACESITE_METRICS_TOKEN.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    registry = process_metrics()
    registry.register(FacesiteCollector())
    return HttpResponse(generate_latest(registry), content_type="text/plain; version=0.0.4; charset=utf-8")


def process_metrics() -> CollectorRegistry:
    """The metrics processes keep themselves (the checks' histogram): every web process's, added up from
    PROMETHEUS_MULTIPROC_DIR when it is set, else this process's."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(CHECK_SECONDS)
    return registry
