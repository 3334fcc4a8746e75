"""Benchmark: the history page of a user with 200 dreams, against a trivial view, on one
production web process (daphne, DEBUG off, PostgreSQL), side by side in one run.

Prints requests per second and p50/p99 latency of each (closed loop: --clients connections,
each sending its next request when the last one answered), the history page's share of the
trivial view's rate (target, issue 4: at least half), and the SQL queries one history page
costs with 12 dreams and with 200 (target: the same). Loopback only. Bounded: --rounds
alternating rounds of --seconds per view.
Run: .venv/bin/python bench/history_throughput.py [--clients 4 --seconds 5 --rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import random
import tempfile
import threading
import time
from pathlib import Path

from production import (  # first: it sets the process up before Django loads
    ROOT,
    percentiles,
    production_env,
    scratch_database,
    session_cookies,
    setup_django,
)

from tests.portal import Portal

PHOTOS = ROOT.parent / "shared" / "fixtures" / "images"


def make_user_with_dreams(email: str, count: int):
    """A user with one character (a fixture photo) and ``count`` dreams of mixed outcomes."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from characters.services import create_character
    from dreams.models import Dream, DreamStatus

    user = get_user_model().objects.create(email=email, password="!")
    photo = SimpleUploadedFile(
        "astronaut.png", (PHOTOS / "astronaut.png").read_bytes(), content_type="image/png"
    )
    character = create_character(owner=user, name="Eileen", description="", uploads=[photo])
    outcomes = [DreamStatus.SUCCEEDED] * 7 + [DreamStatus.FAILED, DreamStatus.CANCELED]
    dreams = []
    for number in range(count):
        status = outcomes[number % len(outcomes)]
        done = status == DreamStatus.SUCCEEDED
        dreams.append(
            Dream(
                owner=user,
                character=character,
                character_name=character.name,
                prompt=f"Eileen walks through scene {number}",
                backend="animatic",
                seed=number,
                status=status,
                progress=1.0 if done else 0.4,
                error="" if done else "Failed while rendering: the encoder stopped.",
                video=f"dreams/{number}/video.mp4" if done else "",
                poster=f"dreams/{number}/poster.jpg" if done else "",
                duration_seconds=6.0 if done else None,
            )
        )
    Dream.objects.bulk_create(dreams)
    return user


def history_queries(user) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    client.get("/dreams/")  # the first request warms caches (content types, sessions)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/dreams/")
    assert response.status_code == 200, response.status_code
    return len(captured)


def load(port: int, path: str, cookie: str, clients: int, seconds: float) -> list[float]:
    """Latencies in ms of every request ``clients`` keep-alive connections answered within
    ``seconds``."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            connection.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")
            mine.append((time.perf_counter() - started) * 1000)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dreams", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="dreamsite-bench-"))
    database = scratch_database()
    env = production_env(database.url, MEDIA_ROOT=str(home / "media"))
    portal = Portal(home, extra_env=env, server="daphne", collectstatic=True)
    try:
        setup_django(portal.env)
        heavy = make_user_with_dreams("many@example.com", options.dreams)
        light = make_user_with_dreams("few@example.com", 12)
        queries = (history_queries(light), history_queries(heavy))
        [cookie] = session_cookies([heavy])
        portal.start()
        views = {"trivial view": "/bench/trivial/", "history page": "/dreams/"}
        for path in views.values():  # warm-up
            load(portal.port, path, cookie, options.clients, 1.0)
        results: dict[str, list[float]] = {name: [] for name in views}
        seconds: dict[str, float] = dict.fromkeys(views, 0.0)
        for _ in range(options.rounds):
            order = list(views.items())
            random.shuffle(order)
            for name, path in order:
                started = time.perf_counter()
                results[name] += load(portal.port, path, cookie, options.clients, options.seconds)
                seconds[name] += time.perf_counter() - started
    finally:
        portal.stop()
        database.drop()

    print(
        f"History benchmark: one daphne process, DEBUG off, PostgreSQL, {options.clients} "
        f"keep-alive clients, {options.rounds} alternating rounds of {options.seconds:g} s"
    )
    rates = {}
    for name, latencies in results.items():
        rates[name] = len(latencies) / seconds[name]
        print(
            f"  {name:13} {rates[name]:7.1f} req/s  {percentiles(latencies)}  "
            f"({len(latencies)} requests)"
        )
    print(
        f"  history page / trivial view: {rates['history page'] / rates['trivial view']:.2f} "
        "of the rate (target: at least 0.5)"
    )
    print(
        f"  SQL queries per history page: {queries[0]} with 12 dreams, {queries[1]} with "
        f"{options.dreams} (target: the same)"
    )


if __name__ == "__main__":
    main()
