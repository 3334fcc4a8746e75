"""Dramatiq actors for provider invocations (any job kind). They load rows by id, call one
function, and send the step it returns; nothing else.

Queues by resource (DESIGN.md): ``cloud`` talks to providers in short calls (start, one poll)
and never waits on them.
"""

from __future__ import annotations

from typing import Any

import dramatiq
from django.db import InterfaceError, OperationalError

from lib.logs import job_context

from . import cloud, cloud_poll
from .dispatch import send

#: Wall-clock limit of one provider call plus copying a finished video, in milliseconds.
CLOUD_TIME_LIMIT_MS = 5 * 60 * 1000
#: Attempts after the first when the database was briefly unreachable.
MAX_RETRIES = 3


def retry_transient(retries: int, exception: BaseException) -> bool:
    """Dramatiq's ``retry_when`` for every job actor: failures are recorded on the job by its
    service and never retried blindly; only a lost database connection is worth another
    attempt (``MAX_RETRIES`` of them)."""
    return retries < MAX_RETRIES and isinstance(exception, OperationalError | InterfaceError)


# A render whose backend names the ``gpu`` queue is sent there by ``jobs.dispatch``. Workers
# consume only the queues their broker has declared, and no actor is declared on ``gpu``:
# declaring it here lets a worker started with ``--queues gpu`` take those renders.
dramatiq.get_broker().declare_queue("gpu")

#: Options every job actor shares: retried only on a lost database, with a short backoff.
JOB_ACTOR_OPTIONS: dict[str, Any] = {
    "retry_when": retry_transient,
    "min_backoff": 2_000,
    "max_backoff": 30_000,
}


@dramatiq.actor(queue_name="cloud", time_limit=CLOUD_TIME_LIMIT_MS, **JOB_ACTOR_OPTIONS)
def start_invocation(invocation_id: int) -> None:
    """Send invocation ``invocation_id`` to its provider, then send the first poll."""
    with job_context(invocation_id=invocation_id):
        step = cloud.start_invocation(invocation_id=invocation_id)
        if step is not None:
            send(step)


@dramatiq.actor(queue_name="cloud", time_limit=CLOUD_TIME_LIMIT_MS, **JOB_ACTOR_OPTIONS)
def poll_invocation(invocation_id: int) -> None:
    """Poll invocation ``invocation_id`` once, then send the next poll if there is one."""
    with job_context(invocation_id=invocation_id):
        step = cloud_poll.poll_invocation(invocation_id=invocation_id)
        if step is not None:
            send(step)
