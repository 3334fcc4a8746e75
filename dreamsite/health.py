"""``GET /health/`` for load balancers: the database, the broker, the channel layer and the
media storage, each checked for real and reported; 200 when all answer, else 503.

It is answered by a middleware ahead of the host check and the HTTPS redirect, because a load
balancer probes each process by its private address over plain HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import dramatiq
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

HEALTH_PATH = "/health/"
#: Seconds each check may take before it counts as failed.
CHECK_TIMEOUT_SECONDS = 3.0


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return connection.vendor
    finally:
        # This runs on a pool thread: never leave a connection behind on it.
        connection.close()


def check_broker() -> str:
    broker: Any = dramatiq.get_broker()
    kind = type(broker).__name__
    if kind == "RedisBroker":
        broker.client.ping()
        return "redis"
    if kind == "RabbitmqBroker":
        import pika

        pika.BlockingConnection(broker.parameters).close()
        return "rabbitmq"
    return "in-process"


def check_channel_layer() -> str:
    layer = get_channel_layer()

    async def round_trip() -> None:
        channel = await layer.new_channel("health.")
        await layer.send(channel, {"type": "health.ping"})
        await asyncio.wait_for(layer.receive(channel), CHECK_TIMEOUT_SECONDS)

    async_to_sync(round_trip)()
    return type(layer).__name__


def check_storage() -> str:
    # A HEAD (S3) or stat (disk) of a name that need not exist: reachability and credentials.
    default_storage.exists("health-check")
    return type(getattr(default_storage, "_wrapped", default_storage)).__name__


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "channel_layer": check_channel_layer,
    "storage": check_storage,
}


def run_checks() -> dict[str, dict[str, Any]]:
    """Run every check in parallel; ``{name: {"ok": bool, "backend"|"error": str,
    "seconds": float}}``. A check fails on any exception or after CHECK_TIMEOUT_SECONDS."""
    results: dict[str, dict[str, Any]] = {}
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="health")
    started = time.monotonic()
    futures = {name: pool.submit(check) for name, check in CHECKS.items()}
    for name, future in futures.items():
        remaining = max(CHECK_TIMEOUT_SECONDS - (time.monotonic() - started), 0.01)
        try:
            results[name] = {"ok": True, "backend": future.result(timeout=remaining)}
        except FutureTimeout:
            results[name] = {"ok": False, "error": f"no answer in {CHECK_TIMEOUT_SECONDS} s"}
        except Exception as error:
            logger.warning("Health check %s failed: %r", name, error)
            # The kind of error only: the probe is public, the details are in the log.
            results[name] = {"ok": False, "error": type(error).__name__}
        results[name]["seconds"] = round(time.monotonic() - started, 4)
    pool.shutdown(wait=False, cancel_futures=True)
    return results


def health_response() -> JsonResponse:
    checks = run_checks()
    healthy = all(result["ok"] for result in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "checks": checks},
        status=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )


class HealthCheckMiddleware:
    """Answers ``GET /health/`` before host validation and the HTTPS redirect."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return health_response()
        return self.get_response(request)
