"""What an operator's tools see: the health probe (each component reported, 503 when one is
down), Prometheus metrics for jobs and requests, and JSON log lines that carry the job id."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from dreams.models import DreamStatus, FailureKind
from lib.logs import JobContextFilter
from tests.cloud_fixtures import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def test_health_reports_every_component(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    report = response.json()
    assert report["status"] == "ok"
    assert {name: check["ok"] for name, check in report["checks"].items()} == {
        "database": True,
        "broker": True,
        "channel_layer": True,
        "storage": True,
    }


def test_health_is_503_and_names_the_component_that_is_down(client, settings, s3_media):
    # Media storage pointed at a port where nothing listens.
    options = settings.STORAGES["default"]["OPTIONS"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**options, "endpoint_url": f"http://127.0.0.1:{free_port()}"},
        },
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},
        }
    }
    response = client.get("/health/")
    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "unhealthy"
    checks = report["checks"]
    assert checks["database"]["ok"] and checks["broker"]["ok"]
    assert not checks["storage"]["ok"] and not checks["channel_layer"]["ok"]
    # Only the kind of error: the probe is public.
    assert "127.0.0.1" not in response.content.decode()


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of metric ``name`` with exactly ``labels`` in Prometheus text ``text``."""
    for line in text.splitlines():
        match = re.match(r"^(\w+)\{(.*)\} (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2)))
        if found == labels:
            return float(match.group(3))
    return None


def test_metrics_count_jobs_by_status_and_time_their_stages(
    client, user, make_character, make_dream
):
    character = make_character(user)
    now = timezone.now()
    make_dream(user, character, status=DreamStatus.QUEUED)
    make_dream(user, character, status=DreamStatus.RUNNING, started_at=now)
    make_dream(
        user,
        character,
        status=DreamStatus.FAILED,
        failure_kind=FailureKind.CONTENT_FILTER,
        backend="nova-reel",
    )
    for running_seconds in (3, 40):
        dream = make_dream(user, character, status=DreamStatus.SUCCEEDED)
        # created_at is set on insert; place the job's stages around it.
        dream.started_at = dream.created_at + timedelta(seconds=2)
        dream.finished_at = dream.started_at + timedelta(seconds=running_seconds)
        dream.save()

    client.get("/")  # one request for the web metrics
    text = client.get("/metrics").content.decode()

    assert sample(text, "dreamsite_dreams", backend="animatic", status="queued") == 1
    assert sample(text, "dreamsite_dreams", backend="animatic", status="running") == 1
    assert sample(text, "dreamsite_dreams", backend="animatic", status="succeeded") == 2
    assert sample(text, "dreamsite_dreams", backend="nova-reel", status="failed") == 1
    assert sample(text, "dreamsite_dream_failures", backend="nova-reel", kind="content_filter") == 1
    running = {"backend": "animatic", "stage": "running"}
    assert sample(text, "dreamsite_dream_stage_seconds_bucket", le="5.0", **running) == 1
    assert sample(text, "dreamsite_dream_stage_seconds_bucket", le="60.0", **running) == 2
    assert sample(text, "dreamsite_dream_stage_seconds_count", **running) == 2
    assert sample(text, "dreamsite_dream_stage_seconds_sum", **running) == pytest.approx(43)
    queued = {"backend": "animatic", "stage": "queued"}
    assert sample(text, "dreamsite_dream_stage_seconds_sum", **queued) == pytest.approx(4)
    # django-prometheus' request metrics for this process.
    assert "django_http_requests_total_by_method_total" in text


def test_metrics_ask_for_the_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    answer = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert answer.status_code == 200 and b"dreamsite_dreams" in answer.content


@pytest.fixture
def json_log():
    """Log records as the production JSON formatter writes them, from every logger."""
    from pythonjsonlogger.json import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(JobContextFilter())
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(previous)


def test_every_log_line_of_a_cloud_job_carries_its_job_id(
    json_log, cloud, user, make_character, broker, worker
):
    from dreams import services
    from tests.support import run_until_idle

    dream = services.create_dream(
        owner=user,
        character=make_character(user),
        prompt="Eileen waves",
        backend="nova-reel",
        duration_seconds=6,
    )
    run_until_idle(broker, worker)
    dream.refresh_from_db()
    assert dream.status == DreamStatus.SUCCEEDED, dream.error

    lines = [
        line for line in json_log() if line["name"].startswith(("dreams", "jobs", "generation"))
    ]
    assert len(lines) >= 2, lines
    for line in lines:
        assert line["job_id"] == f"dream-{dream.pk}", line
        assert line["message_id"] and line["invocation_id"]
