"""Benchmark: live progress through one production web process (daphne, DEBUG off) and the
Redis channel layer, with real signed-in websocket clients.

1. Latency: --clients clients (one per user, each on its own dream's group). A worker-like
   thread calls the real ``jobs.events.publish`` and every client notes arrival time minus the
   event's ``published_at`` (one machine, one clock). Two loads: a steady one (--rate events
   per second to random users) and a burst (one event to every client, back to back).
   Target (issue 4): p99 under 50 ms across 1,000 connected clients.
2. Capacity: more clients (further tabs of the same users) in steps of --step up to
   --max-clients; after each step one event per user must reach every open client within
   10 s. Prints the most clients held with every one of them served.

The clients run in their own process (asyncio, the ``websockets`` library), so they do not
share an interpreter with the publisher. Loopback only; bounded by the counts above and
--seconds per steady run.
Both channel layers are measured in the same run: the default (Redis pub/sub) first, then
channels-redis's ``RedisChannelLayer``; capacity on the default only.
Run: .venv/bin/python bench/websocket_fanout.py [--clients 1000 --max-clients 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from production import (  # first: it sets the process up before Django loads
    percentiles,
    production_env,
    scratch_database,
    session_cookies,
    setup_django,
)

from tests.portal import Portal
from tests.processes import RedisServer


def client_process(url: str, origin: str, pipe) -> None:
    """Holds websocket clients; answers ``("connect", cookies)`` with how many opened, and
    ``("collect", count, timeout)`` with the delays (ms) of the next ``count`` events."""
    import websockets

    async def main() -> None:
        arrivals: asyncio.Queue[float] = asyncio.Queue()
        sockets = []
        # Sockets the server closed: their events are lost to this client (a browser would
        # reconnect and sync), which tells a dropped socket from a dropped event.
        closed = [0]

        async def listen(socket) -> None:
            try:
                async for message in socket:
                    event = json.loads(message).get("event", {})
                    if "published_at" in event:
                        arrivals.put_nowait((time.time() - event["published_at"]) * 1000)
            except websockets.ConnectionClosed:
                pass
            closed[0] += 1

        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, pipe.recv)
            if command[0] == "connect":
                opened = 0
                for cookie in command[1]:
                    try:
                        socket = await websockets.connect(
                            url,
                            origin=origin,
                            additional_headers={"Cookie": f"sessionid={cookie}"},
                            open_timeout=10,
                            max_queue=None,
                        )
                    except (OSError, websockets.InvalidHandshake, TimeoutError):
                        break
                    sockets.append(socket)
                    asyncio.ensure_future(listen(socket))
                    opened += 1
                pipe.send(opened)
            elif command[0] == "collect":
                _, count, timeout = command
                delays = []
                deadline = loop.time() + timeout
                while len(delays) < count and loop.time() < deadline:
                    try:
                        delays.append(
                            await asyncio.wait_for(arrivals.get(), deadline - loop.time())
                        )
                    except TimeoutError:
                        break
                pipe.send((delays, closed[0]))
            else:
                await asyncio.gather(*(socket.close() for socket in sockets))
                pipe.send(len(sockets))
                return

    asyncio.run(main())


def make_users(count: int):
    """``count`` users (no usable password: nobody hashes 1,000 passwords), one dream each."""
    from django.contrib.auth import get_user_model

    from dreams.models import Dream, DreamStatus

    users = get_user_model().objects.bulk_create(
        get_user_model()(email=f"viewer{number}@example.com", password="!")
        for number in range(count)
    )
    dreams = Dream.objects.bulk_create(
        Dream(
            owner=user,
            character_name="Eileen",
            prompt="Eileen is watched",
            backend="animatic",
            seed=1,
            status=DreamStatus.RUNNING,
            stage="rendering",
        )
        for user in users
    )
    return users, dreams


def publish(dreams, *, rate: float | None) -> None:
    """Publish one event per dream in ``dreams`` as a worker does (the real jobs.events.publish,
    from a plain thread), ``rate`` per second or back to back."""
    from jobs.events import publish as publish_dream

    def run() -> None:
        started = time.perf_counter()
        for number, dream in enumerate(dreams):
            if rate:
                pause = started + number / rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            dream.progress = random.random()
            publish_dream(dream)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


#: The layers measured side by side: the one production uses, then channels-redis's own.
LAYERS = {
    "pub/sub (the default)": "dreamsite.channel_layers.ResyncingPubSubChannelLayer",
    "sorted sets (RedisChannelLayer)": "channels_redis.core.RedisChannelLayer",
}


def use_layer(backend: str) -> None:
    """Publish from this process through ``backend``, as the web process under test reads."""
    from channels.layers import channel_layers
    from django.conf import settings

    settings.CHANNEL_LAYERS["default"]["BACKEND"] = backend
    channel_layers.backends.clear()


def measure_layer(options, home, env, backend, dreams, cookies, *, capacity: bool):
    """One web process on ``backend``: the steady and burst delays (ms), and with
    ``capacity`` the capacity steps (printed); returns (steady, burst, held, served, closed)."""
    use_layer(backend)
    portal = Portal(home, extra_env={**env, "CHANNEL_LAYER_BACKEND": backend}, server="daphne")
    pipe, child_pipe = multiprocessing.Pipe()
    clients = None
    try:
        portal.start()
        ws_url = f"ws://127.0.0.1:{portal.port}/ws/jobs/"
        clients = multiprocessing.get_context("spawn").Process(
            target=client_process, args=(ws_url, portal.url, child_pipe), daemon=True
        )
        clients.start()

        def send(*command):
            pipe.send(command)
            return pipe.recv()

        opened = send("connect", cookies)
        assert opened == options.clients, f"only {opened} clients connected"
        time.sleep(1)
        publish(dreams[:50], rate=None)  # warm-up
        send("collect", 50, 10)

        steady_count = int(options.rate * options.seconds)
        steady = [random.choice(dreams) for _ in range(steady_count)]
        publish(steady, rate=options.rate)
        steady_delays, _ = send("collect", steady_count, 30)
        publish(dreams, rate=None)
        burst_delays, closed = send("collect", len(dreams), 30)

        held, served = opened, True
        while capacity and served and held < options.max_clients:
            more = send("connect", cookies[: min(options.step, options.max_clients - held)])
            held += more
            time.sleep(1)
            publish(dreams, rate=None)
            delays, closed = send("collect", held, 10)
            served = more > 0 and len(delays) == held
            print(
                f"  {held} clients connected, {len(delays)} served an event each, "
                f"{closed} closed by the server",
                flush=True,
            )
        send("close")
    finally:
        if clients is not None:
            clients.join(timeout=30)
        portal.stop()
    return steady_delays, burst_delays, held, served, closed


def p99(values_ms: list[float]) -> float:
    return statistics.quantiles(values_ms, n=100, method="inclusive")[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="steady events per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--step", type=int, default=500)
    parser.add_argument("--max-clients", type=int, default=4000)
    options = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="dreamsite-bench-"))
    database = scratch_database()
    redis = RedisServer(home).start()
    env = production_env(
        database.url, MEDIA_ROOT=str(home / "media"), CHANNEL_LAYER_URL=redis.url(0)
    )
    results = {}
    try:
        setup_django(env)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        users, dreams = make_users(options.clients)
        cookies = session_cookies(users)
        for number, (name, backend) in enumerate(LAYERS.items()):
            results[name] = measure_layer(
                options, home, env, backend, dreams, cookies, capacity=number == 0
            )
    finally:
        redis.stop()
        database.drop()

    print(
        f"Websocket benchmark: one daphne process, DEBUG off, Redis, {options.clients} "
        f"signed-in clients; each channel layer in turn, in the same run"
    )
    steady_count = int(options.rate * options.seconds)
    for name, (steady, burst, _, _, closed) in results.items():
        print(f"  {name}:")
        print(
            f"    steady, {options.rate:g} events/s for {options.seconds:g} s: "
            f"{percentiles(steady)} ({len(steady)} of {steady_count} arrived)"
        )
        print(
            f"    burst, one event to each of {options.clients} clients back to back: "
            f"{percentiles(burst)} ({len(burst)} arrived)"
        )
        print(f"    sockets the server closed during the run: {closed}")
    (_, default_burst, held, served, _), (_, core_burst, *_) = results.values()
    print(
        f"  burst p99, sorted sets / pub/sub: {p99(core_burst) / p99(default_burst):.1f}x; "
        f"target: p99 under 50 ms"
    )
    verdict = "every one served" if served else "the last step was not fully served"
    print(f"  capacity (pub/sub): {held} clients held ({verdict}; limit --max-clients)")


if __name__ == "__main__":
    main()
