"""A pytest plugin (``-p tests.worker_env``, in pyproject's addopts) that gives each
pytest-xdist worker its own Redis databases, so parallel tests never share a broker queue, a
channel layer group or a cache.

It runs when pytest starts, before pytest-django loads the settings (which read these
variables). Worker N of ``-n`` takes each Redis URL's database number plus
``REDIS_DATABASES_PER_WORKER × N``; PostgreSQL and SQLite test databases already get a
per-worker name from pytest-django, and moto's S3 server and media folders are per worker or
per test. The RabbitMQ pass runs in one process (one of its tests restarts the broker).
"""

from __future__ import annotations

import os
import re

#: The broker, the channel layer and the cache each take one Redis database (1, 2 and 3).
REDIS_DATABASES_PER_WORKER = 3
#: Redis's default number of databases (``databases 16``).
REDIS_DATABASES = 16


def _worker_number() -> int | None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") else None


def _shift_redis_database(url: str, offset: int) -> str:
    match = re.fullmatch(r"(rediss?://[^/]+)/(\d+)", url)
    if match is None:
        return url
    database = int(match.group(2)) + offset
    if database >= REDIS_DATABASES:
        raise RuntimeError(
            f"Too many test workers for Redis's {REDIS_DATABASES} databases: "
            f"run fewer (make test TEST_WORKERS=2)."
        )
    return f"{match.group(1)}/{database}"


number = _worker_number()
if number:
    for name in ("DRAMATIQ_BROKER_URL", "CHANNEL_LAYER_URL", "CACHE_URL"):
        if os.environ.get(name, "").startswith("redis"):
            os.environ[name] = _shift_redis_database(
                os.environ[name], REDIS_DATABASES_PER_WORKER * number
            )
