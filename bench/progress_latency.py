"""Benchmark: time from a worker thread publishing a progress event to the websocket consumer
sending it on, in the embedded mode, with the project's channel layer and with Channels'
stock in-memory layer side by side.

The consumer runs on an event loop in the main thread, as under daphne; a separate thread
publishes, as a Dramatiq worker does. Target (issue 2): under 100 ms. The stock layer is given
a short, bounded number of events because each can wait seconds.
Run: .venv/bin/python bench/progress_latency.py [--events 500]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamsite.settings")

import django  # noqa: E402

django.setup()

from asgiref.sync import async_to_sync  # noqa: E402
from channels.layers import InMemoryChannelLayer, channel_layers  # noqa: E402
from channels.testing import WebsocketCommunicator  # noqa: E402

from dreamsite.channel_layers import ThreadSafeInMemoryChannelLayer  # noqa: E402
from jobs.consumers import JobProgressConsumer  # noqa: E402
from jobs.events import user_group  # noqa: E402

USER = SimpleNamespace(id=1, is_authenticated=True)


async def measure(layer, events: int, timeout: float) -> tuple[list[float], int]:
    """Latencies in milliseconds of ``events`` events, and how many never arrived in time."""
    channel_layers.backends["default"] = layer
    communicator = WebsocketCommunicator(JobProgressConsumer.as_asgi(), "/ws/jobs/")
    communicator.scope["user"] = USER
    connected, _ = await communicator.connect()
    assert connected
    latencies, lost = [], 0
    for number in range(events):
        sent_at: list[float] = []

        def publish(number=number, sent_at=sent_at) -> None:
            sent_at.append(time.perf_counter())
            async_to_sync(layer.group_send)(
                user_group(USER.id), {"type": "job.event", "event": {"n": number}}
            )

        worker = threading.Thread(target=publish)
        worker.start()
        try:
            message = await communicator.receive_from(timeout=timeout)
        except TimeoutError:
            lost += 1
            worker.join()
            # The communicator cancels the consumer after a timeout: connect a fresh one.
            communicator = WebsocketCommunicator(JobProgressConsumer.as_asgi(), "/ws/jobs/")
            communicator.scope["user"] = USER
            await communicator.connect()
            continue
        latencies.append((time.perf_counter() - sent_at[0]) * 1000)
        assert json.loads(message)["event"]["n"] == number
        worker.join()
    await communicator.disconnect()
    return latencies, lost


def describe(name: str, latencies: list[float], lost: int, events: int) -> str:
    if not latencies:
        return f"{name:<34} none of {events} arrived within the timeout"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name:<34} events {events:4d}  p50 {statistics.median(ordered):7.2f} ms  "
        f"p99 {p99:7.2f} ms  max {ordered[-1]:7.2f} ms  late (>timeout) {lost}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--stock-events", type=int, default=10)
    parser.add_argument("--stock-timeout", type=float, default=2.0)
    options = parser.parse_args()

    ours = async_to_sync(measure)(ThreadSafeInMemoryChannelLayer(), options.events, 1.0)
    stock = async_to_sync(measure)(
        InMemoryChannelLayer(), options.stock_events, options.stock_timeout
    )
    print("worker-thread publish -> consumer send, one process (embedded mode)")
    print(
        describe("ThreadSafeInMemoryChannelLayer", *ours, options.events)
        + "  (target p99 < 100 ms)"
    )
    print(describe("channels InMemoryChannelLayer", *stock, options.stock_events))


if __name__ == "__main__":
    main()
