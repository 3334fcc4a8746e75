"""The test harness itself: a stopped worker must not leave the shared broker waiting."""

import pytest

from tests.support import start_worker, stop_worker, wait_for


def test_a_stopped_worker_leaves_no_phantom_message_behind(broker):
    """A delayed poll that a worker held when it stopped used to stay counted on the stub
    broker's queue, so every later ``join`` on that queue hung (issue 12's flaky failure)."""
    if type(broker).__name__ != "StubBroker":
        pytest.skip("real brokers put held messages back themselves")
    from dramatiq.common import QueueJoinTimeout

    from jobs.tasks import poll_invocation

    worker = start_worker(broker)
    poll_invocation.send_with_options(args=(0,), delay=60_000)
    wait_for(lambda: any(c.delay_queue.unfinished_tasks for c in worker.consumers.values()))
    stop_worker(worker)
    broker.flush_all()
    try:
        broker.join("cloud", timeout=2_000)
    except QueueJoinTimeout:
        pytest.fail("the queue still counts the message the stopped worker held")
