"""A pytest plugin (``-p tests.worker_env``, in pyproject's addopts) that gives each
pytest-xdist worker its own Redis databases, so parallel tests never share a broker queue, a
channel layer group or a cache.

It runs when pytest starts, before pytest-django loads the settings (which read these
variables). Worker N of ``-n`` takes each Redis URL's database number plus
``REDIS_DATABASES_PER_WORKER × N``; PostgreSQL and SQLite test databases already get a
per-worker name from pytest-django, and moto's S3 server and media folders are per worker or
per test. On RabbitMQ each worker takes a virtual host of its own (``dreamsite-test-gwN``,
made with ``rabbitmqctl`` when missing).
"""

from __future__ import annotations

import os
import re
import subprocess

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


def _own_rabbitmq_vhost(url: str, worker: str) -> str:
    """``url`` (amqp://user:password@host:port/vhost) with a virtual host of the worker's own,
    made (and opened to the URL's user) with ``rabbitmqctl`` when missing."""
    match = re.fullmatch(r"(amqp://([^:@/]+)(?::[^@/]*)?@[^/]+)/.*", url)
    if match is None:
        return url
    vhost = f"dreamsite-test-{worker}"
    for command in (["add_vhost", vhost], ["set_permissions", "-p", vhost, match.group(2)]
                    + [".*", ".*", ".*"]):  # fmt: skip
        subprocess.run(["rabbitmqctl", "-q", *command], check=True, capture_output=True,
                       timeout=120)  # fmt: skip
    return f"{match.group(1)}/{vhost}"


number = _worker_number()
if number is not None:
    for name in ("DRAMATIQ_BROKER_URL", "CHANNEL_LAYER_URL", "CACHE_URL"):
        if os.environ.get(name, "").startswith("redis"):
            os.environ[name] = _shift_redis_database(
                os.environ[name], REDIS_DATABASES_PER_WORKER * number
            )
    if os.environ.get("DRAMATIQ_BROKER_URL", "").startswith("amqp"):
        os.environ["DRAMATIQ_BROKER_URL"] = _own_rabbitmq_vhost(
            os.environ["DRAMATIQ_BROKER_URL"], f"gw{number}"
        )
