"""Dramatiq actors for dreams. They load rows by id and call a service; nothing else.

Queues by resource (DESIGN.md): ``media`` renders on this machine's CPU, ``cloud`` talks to
providers in short calls (start, one poll) and never waits on them.
"""

import dramatiq
from django.db import InterfaceError, OperationalError

from dreamsite.logs import dream_job_id, job_context

from . import cloud, services

#: Wall-clock limit of one render attempt, in milliseconds.
RENDER_TIME_LIMIT_MS = 15 * 60 * 1000
#: Wall-clock limit of one provider call plus copying a finished video, in milliseconds.
CLOUD_TIME_LIMIT_MS = 5 * 60 * 1000
#: Attempts after the first when the database was briefly unreachable.
RENDER_MAX_RETRIES = 3


def _retry_transient(retries: int, exception: BaseException) -> bool:
    # Render failures are recorded on the dream by the service and never retried blindly;
    # only a lost database connection is worth another attempt.
    return retries < RENDER_MAX_RETRIES and isinstance(exception, OperationalError | InterfaceError)


@dramatiq.actor(
    queue_name="media",
    time_limit=RENDER_TIME_LIMIT_MS,
    retry_when=_retry_transient,
    min_backoff=2_000,
    max_backoff=30_000,
)
def render_dream(dream_id: int) -> None:
    """Render dream ``dream_id`` (CPU and ffmpeg work, hence the ``media`` queue)."""
    message = dramatiq.middleware.CurrentMessage.get_current_message()
    with job_context(job_id=dream_job_id(dream_id)):
        services.run_dream(dream_id=dream_id, message_id=message.message_id if message else "")


#: Options shared by the provider actors.
_CLOUD = {
    "queue_name": "cloud",
    "time_limit": CLOUD_TIME_LIMIT_MS,
    "retry_when": _retry_transient,
    "min_backoff": 2_000,
    "max_backoff": 30_000,
}


@dramatiq.actor(**_CLOUD)
def start_invocation(invocation_id: int) -> None:
    """Send invocation ``invocation_id`` to its provider and schedule the first poll."""
    with job_context(invocation_id=invocation_id):
        cloud.start_invocation(invocation_id=invocation_id)


@dramatiq.actor(**_CLOUD)
def poll_invocation(invocation_id: int) -> None:
    """Poll invocation ``invocation_id`` once; the service schedules the next poll."""
    with job_context(invocation_id=invocation_id):
        cloud.poll_invocation(invocation_id=invocation_id)
