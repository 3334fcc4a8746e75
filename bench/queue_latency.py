"""Benchmark: time from submitting a dream to its actor starting, with an idle worker
process (``manage.py rundramatiq``), on the Redis broker and on RabbitMQ, side by side.

Dramatiq's Redis consumer polls an empty queue with a growing pause, capped by the worker
timeout (``dramatiq_worker_timeout``, 1,000 ms by default; RabbitMQ pushes instead), so the
Redis broker is measured at the default and at the 100 ms the Procfile sets. Each submit
follows a random idle pause of up to --idle seconds, as real traffic does.

"Submit" is the dream row's ``created_at`` (``services.create_dream``, which enqueues when
its transaction commits); "starting" is ``started_at``, written by the actor when it claims
the dream. Both come from one machine's clock. The character's photos are removed first, so
each job fails at once in its first stage and the worker is idle again for the next submit:
only the queue is measured. Loopback only; bounded by --jobs per broker (each at most 30 s).
Run: .venv/bin/python bench/queue_latency.py [--jobs 60 --idle 1.5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from production import (  # first: it sets the process up before Django loads
    ROOT,
    percentiles,
    production_env,
    scratch_database,
    setup_django,
)

from tests.processes import RedisServer, WorkerProcess

PHOTOS = ROOT.parent / "shared" / "fixtures" / "images"
RABBITMQ_URL = os.environ.get("BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def measure(broker_url: str, jobs: int, idle: float, home: Path) -> list[float]:
    """Submit-to-start delays in ms of ``jobs`` dreams, one at a time, on ``broker_url``
    (run in a child process: Django's broker is fixed once set up)."""
    database = scratch_database()
    env = production_env(
        database.url, MEDIA_ROOT=str(home / "media"), DRAMATIQ_BROKER_URL=broker_url
    )
    worker = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
        setup_django(env)
        from django.contrib.auth import get_user_model
        from django.core.files.uploadedfile import SimpleUploadedFile

        from characters.services import create_character
        from dreams import services
        from dreams.models import Dream, DreamStatus

        user = get_user_model().objects.create(email="queue@example.com", password="!")
        photo = SimpleUploadedFile(
            "astronaut.png", (PHOTOS / "astronaut.png").read_bytes(), content_type="image/png"
        )
        character = create_character(owner=user, name="Eileen", description="", uploads=[photo])
        shutil.rmtree(home / "media" / "characters")
        worker = WorkerProcess(("media",), home, env)  # inherits dramatiq_worker_timeout
        delays = []
        for number in range(jobs + 5):
            time.sleep(random.uniform(0, idle))
            dream = services.create_dream(
                owner=user, character=character, prompt=f"Queue probe {number}", backend="animatic"
            )
            deadline = time.monotonic() + 30
            while True:
                dream.refresh_from_db()
                if dream.status not in (DreamStatus.QUEUED, DreamStatus.RUNNING):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dream {number} never ran:\n{worker.log()[-2000:]}")
                time.sleep(0.002)
            if number >= 5:  # the first few warm the worker's connections
                delays.append((dream.started_at - dream.created_at).total_seconds() * 1000)
        assert Dream.objects.filter(started_at__isnull=True).count() == 0
        return delays
    finally:
        if worker is not None:
            worker.stop()
        database.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--idle", type=float, default=1.5, help="most seconds between jobs")
    parser.add_argument("--broker-url", help=argparse.SUPPRESS)  # the child process's
    options = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="dreamsite-bench-"))
    if options.broker_url:
        print(json.dumps(measure(options.broker_url, options.jobs, options.idle, home)))
        return

    redis = RedisServer(home).start()
    results = {}
    try:
        brokers = (
            ("Redis, worker timeout 1000 ms (Dramatiq's default)", redis.url(0), "1000"),
            ("Redis, worker timeout 100 ms (the Procfile's)", redis.url(0), "100"),
            ("RabbitMQ", RABBITMQ_URL, "100"),
        )
        for name, url, worker_timeout in brokers:
            command = [sys.executable, __file__, "--broker-url", url]
            command += ["--jobs", str(options.jobs), "--idle", str(options.idle)]
            child = subprocess.run(
                command,
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "dramatiq_worker_timeout": worker_timeout},
            )
            results[name] = json.loads(child.stdout.strip().splitlines()[-1])
    finally:
        redis.stop()
    print(
        f"Queue benchmark: submit to actor start, one idle worker process (1 thread), "
        f"PostgreSQL, {options.jobs} jobs per broker, each after up to {options.idle:g} s idle"
    )
    for name, delays in results.items():
        print(f"  {name}: {percentiles(delays)}")


if __name__ == "__main__":
    main()
