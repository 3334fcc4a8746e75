"""``GET /metrics`` in Prometheus' text format: the web process's own request metrics
(django-prometheus) and the job metrics of the whole site, read from the database at scrape
time, so every web process reports the same job figures whichever worker ran the jobs.

Job metrics, one set per registered job kind (``dream`` below; a film's would read ``film``)
(https://prometheus.io/docs/concepts/metric_types/):

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
from prometheus_client.core import REGISTRY, GaugeMetricFamily, HistogramMetricFamily, Metric

from . import kinds
from .models import Invocation, Job, JobStatus

#: Histogram bucket bounds in seconds, from a quick animatic to a long cloud video.
STAGE_BUCKETS_SECONDS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)


def _seconds(value: timedelta | float | None) -> float:
    if value is None:
        return 0.0
    return value.total_seconds() if isinstance(value, timedelta) else float(value) / 1e6


class JobCollector:
    """Prometheus collector of job figures from the database (three queries per job kind,
    one more for invocations)."""

    def describe(self) -> list[Metric]:
        # Nothing up front: registering the collector must make no query and need no job kind
        # registered yet (the names follow the kinds at scrape time).
        return []

    def collect(self) -> Iterator[Metric]:
        for kind in kinds.all_kinds():
            yield from self._collect_kind(kind.name, kind.model)
        invocations = GaugeMetricFamily(
            "dreamsite_invocations",
            "Cloud invocations by status.",
            labels=["backend", "status"],
        )
        rows = Invocation.objects.values("backend", "status").annotate(n=Count("id")).order_by()
        for row in rows:
            invocations.add_metric([row["backend"], row["status"]], row["n"])
        yield invocations

    def _collect_kind(self, name: str, model: type[Job]) -> Iterator[Metric]:
        counts = GaugeMetricFamily(
            f"dreamsite_{name}s",
            f"{name.capitalize()}s in each status now.",
            labels=["backend", "status"],
        )
        rows = model._default_manager.values("backend", "status").annotate(n=Count("id")).order_by()
        for row in rows:
            counts.add_metric([row["backend"], row["status"]], row["n"])
        yield counts

        failures = GaugeMetricFamily(
            f"dreamsite_{name}_failures", f"Failed {name}s by kind.", labels=["backend", "kind"]
        )
        rows = (
            model._default_manager.filter(status=JobStatus.FAILED)
            .values("backend", "failure_kind")
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in rows:
            failures.add_metric([row["backend"], row["failure_kind"] or "internal"], row["n"])
        yield failures

        stages = HistogramMetricFamily(
            f"dreamsite_{name}_stage_seconds",
            f"Seconds finished {name}s spent queued (submit to start) and running (start to end).",
            labels=["backend", "stage"],
        )
        finished = model._default_manager.filter(
            started_at__isnull=False, finished_at__isnull=False
        )
        spans = {
            "queued": ExpressionWrapper(F("started_at") - F("created_at"), DurationField()),
            "running": ExpressionWrapper(F("finished_at") - F("started_at"), DurationField()),
        }
        for stage, span in spans.items():
            buckets = {
                f"le_{bound}": Count("id", filter=Q(span__lte=timedelta(seconds=bound)))
                for bound in STAGE_BUCKETS_SECONDS
            }
            spans_rows = (
                finished.annotate(span=span)
                .values("backend")
                .annotate(n=Count("id"), total=Sum("span"), **buckets)
                .order_by()
            )
            for row in spans_rows:
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
    response: HttpResponse = ExportToDjangoView(request)
    return response
