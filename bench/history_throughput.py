"""Benchmark: the history page of a user with 200 dreams, against a trivial view, on one
production web process (daphne, DEBUG off, PostgreSQL, Redis cache), side by side in one run.

Prints requests per second and p50/p99 latency of each (closed loop: --clients connections,
each sending its next request when the last one answered), the history page's share of the
trivial view's rate (target, issue 4: at least half) and, for reference, of a trivial view
behind the sign-in check, with the web process's CPU per request; and the SQL queries one
history page costs with 12 dreams and with 200 (target: the same). Loopback only. Bounded:
--rounds alternating rounds of --seconds per view. With --compare-stacks a second daphne
process serves the same views with the middleware stack Django builds without
SynchronousStackMiddleware, in the same rounds.
Run: .venv/bin/python bench/history_throughput.py [--clients 4 --seconds 5 --rounds 3]
     [--compare-stacks]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import tempfile
import threading
import time
from http.cookies import SimpleCookie
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
from tests.processes import RedisServer

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
    ``seconds``, each connection starting signed in with the session ``cookie``."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        # Like a browser, send back the cookies the server set (the CSRF cookie): without it
        # Django makes a new CSRF secret for every page.
        jar = SimpleCookie({"sessionid": cookie})
        mine = []
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            sent = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())
            connection.request("GET", path, headers={"Cookie": sent})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")
            for header in response.headers.get_all("Set-Cookie") or ():
                jar.load(header)
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


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds process ``pid`` has used, all its threads (``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


STACKS = {
    "one-hop stack": "bench.settings",
    "hopping stack": "bench.settings_hopping",
}
VIEWS = {
    "trivial view": "/bench/trivial/",
    "signed-in trivial": "/bench/trivial-signed-in/",
    "history page": "/dreams/",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dreams", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--compare-stacks",
        action="store_true",
        help="also serve both views from a second daphne process whose middleware runs in "
        "async mode (the stack before SynchronousStackMiddleware), in the same rounds",
    )
    options = parser.parse_args()
    stacks = list(STACKS) if options.compare_stacks else list(STACKS)[:1]

    home = Path(tempfile.mkdtemp(prefix="dreamsite-bench-"))
    database = scratch_database()
    # The shared cache of a production deployment (sessions are read from it).
    redis = RedisServer(home).start()
    portals = {}
    try:
        for stack in stacks:
            env = production_env(
                database.url,
                MEDIA_ROOT=str(home / "media"),
                CACHE_URL=redis.url(0),
                DJANGO_SETTINGS_MODULE=STACKS[stack],
            )
            stack_home = home / stack.replace(" ", "-")
            stack_home.mkdir()
            portals[stack] = Portal(stack_home, extra_env=env, server="daphne", collectstatic=True)
        setup_django(portals[stacks[0]].env)
        heavy = make_user_with_dreams("many@example.com", options.dreams)
        light = make_user_with_dreams("few@example.com", 12)
        queries = (history_queries(light), history_queries(heavy))
        [cookie] = session_cookies([heavy])
        cases = [(stack, view) for stack in stacks for view in VIEWS]
        for stack in stacks:
            portals[stack].start()
            for path in VIEWS.values():  # warm-up
                load(portals[stack].port, path, cookie, options.clients, 1.0)
        results: dict[tuple[str, str], list[float]] = {case: [] for case in cases}
        seconds: dict[tuple[str, str], float] = dict.fromkeys(cases, 0.0)
        # The web process's own CPU per request: what each view costs, apart from the clients.
        cpu: dict[tuple[str, str], float] = dict.fromkeys(cases, 0.0)
        for _ in range(options.rounds):
            random.shuffle(cases)
            for stack, view in cases:
                started = time.perf_counter()
                cpu_before = process_cpu_seconds(portals[stack].process.pid)
                results[stack, view] += load(
                    portals[stack].port, VIEWS[view], cookie, options.clients, options.seconds
                )
                seconds[stack, view] += time.perf_counter() - started
                cpu[stack, view] += process_cpu_seconds(portals[stack].process.pid) - cpu_before
    finally:
        for portal in portals.values():
            portal.stop()
        database.drop()
        redis.stop()

    print(
        f"History benchmark: one daphne process per stack, DEBUG off, PostgreSQL, Redis cache, "
        f"{options.clients} keep-alive clients, {options.rounds} alternating rounds of "
        f"{options.seconds:g} s"
    )
    for stack in stacks:
        print(f"  {stack}{' (the settings in use)' if stack == stacks[0] else ''}:")
        rates = {}
        for view in VIEWS:
            latencies = results[stack, view]
            rates[view] = len(latencies) / seconds[stack, view]
            print(
                f"    {view:17} {rates[view]:7.1f} req/s  {percentiles(latencies)}  "
                f"daphne CPU {cpu[stack, view] / len(latencies) * 1000:.2f} ms/request  "
                f"({len(latencies)} requests)"
            )
        print(
            f"    history page / trivial view: "
            f"{rates['history page'] / rates['trivial view']:.2f} of the rate "
            "(target: at least 0.5)"
        )
        print(
            f"    history page / signed-in trivial: "
            f"{rates['history page'] / rates['signed-in trivial']:.2f} of the rate "
            "(for reference: the page's own work against a signed-in request's floor)"
        )
    print(
        f"  SQL queries per history page: {queries[0]} with 12 dreams, {queries[1]} with "
        f"{options.dreams} (target: the same)"
    )


if __name__ == "__main__":
    main()
