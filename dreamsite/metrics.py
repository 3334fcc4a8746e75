"""``GET /metrics`` in Prometheus' text format: the web process's own request metrics
(django-prometheus) and the job metrics of the whole site, read from the database at scrape
time, so every web process reports the same job figures whichever worker ran the jobs.

Job metrics (https://prometheus.io/docs/concepts/metric_types/):

- ``dreamsite_dreams{backend, status}``: dreams in each status now (queued, running, ...).
- ``dreamsite_dream_failures{backend, kind}``: failed dreams by failure kind.
- ``dreamsite_dream_stage_seconds{backend, stage}``: histogram of finished dreams' time in the
  ``queued`` stage (submit to a worker's start) and the ``running`` stage (start to end).
- ``dreamsite_invocations{backend, status}``: cloud invocations by status.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, ExpressionWrapper, F, Q, Sum
from django.db.models.fields import DurationField
from django.http import HttpRequest, HttpResponse
from django_prometheus.exports import ExportToDjangoView
from prometheus_client.core import REGISTRY, GaugeMetricFamily, HistogramMetricFamily

#: Histogram bucket bounds in seconds, from a quick animatic to a long cloud video.
STAGE_BUCKETS_SECONDS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)


def _seconds(value) -> float:
    if value is None:
        return 0.0
    return value.total_seconds() if isinstance(value, timedelta) else float(value) / 1e6


class JobCollector:
    """Prometheus collector of job figures from the database (four queries per scrape)."""

    def describe(self) -> list:
        # Names only, so registering the collector makes no query (no database at import).
        return [
            GaugeMetricFamily("dreamsite_dreams", "", labels=["backend", "status"]),
            GaugeMetricFamily("dreamsite_dream_failures", "", labels=["backend", "kind"]),
            HistogramMetricFamily("dreamsite_dream_stage_seconds", "", labels=["backend"]),
            GaugeMetricFamily("dreamsite_invocations", "", labels=["backend", "status"]),
        ]

    def collect(self) -> Iterator:
        from dreams.models import Dream, DreamStatus, Invocation

        dreams = GaugeMetricFamily(
            "dreamsite_dreams", "Dreams in each status now.", labels=["backend", "status"]
        )
        rows = Dream.objects.values("backend", "status").annotate(n=Count("id")).order_by()
        for row in rows:
            dreams.add_metric([row["backend"], row["status"]], row["n"])
        yield dreams

        failures = GaugeMetricFamily(
            "dreamsite_dream_failures", "Failed dreams by kind.", labels=["backend", "kind"]
        )
        rows = (
            Dream.objects.filter(status=DreamStatus.FAILED)
            .values("backend", "failure_kind")
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in rows:
            failures.add_metric([row["backend"], row["failure_kind"] or "internal"], row["n"])
        yield failures

        stages = HistogramMetricFamily(
            "dreamsite_dream_stage_seconds",
            "Seconds finished dreams spent queued (submit to start) and running (start to end).",
            labels=["backend", "stage"],
        )
        finished = Dream.objects.filter(started_at__isnull=False, finished_at__isnull=False)
        spans = {
            "queued": ExpressionWrapper(F("started_at") - F("created_at"), DurationField()),
            "running": ExpressionWrapper(F("finished_at") - F("started_at"), DurationField()),
        }
        for stage, span in spans.items():
            buckets = {
                f"le_{bound}": Count("id", filter=Q(span__lte=timedelta(seconds=bound)))
                for bound in STAGE_BUCKETS_SECONDS
            }
            rows = (
                finished.annotate(span=span)
                .values("backend")
                .annotate(n=Count("id"), total=Sum("span"), **buckets)
                .order_by()
            )
            for row in rows:
                stages.add_metric(
                    [row["backend"], stage],
                    buckets=[
                        *(
                            (str(float(bound)), row[f"le_{bound}"])
                            for bound in STAGE_BUCKETS_SECONDS
                        ),
                        ("+Inf", row["n"]),
                    ],
                    sum_value=_seconds(row["total"]),
                )
        yield stages

        invocations = GaugeMetricFamily(
            "dreamsite_invocations",
            "Cloud invocations by status.",
            labels=["backend", "status"],
        )
        rows = Invocation.objects.values("backend", "status").annotate(n=Count("id")).order_by()
        for row in rows:
            invocations.add_metric([row["backend"], row["status"]], row["n"])
        yield invocations


_collector = JobCollector()
if _collector not in getattr(REGISTRY, "_collector_to_names", {}):
    REGISTRY.register(_collector)


def metrics(request: HttpRequest) -> HttpResponse:
    """The metrics page; with ``METRICS_TOKEN`` set, only for ``Authorization: Bearer
    <token>`` (403 otherwise)."""
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return ExportToDjangoView(request)
