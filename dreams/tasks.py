"""Dramatiq actors for dreams. They load rows by id and call a service; nothing else."""

import dramatiq
from django.db import InterfaceError, OperationalError

from . import services

#: Wall-clock limit of one render attempt, in milliseconds.
RENDER_TIME_LIMIT_MS = 15 * 60 * 1000
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
    services.run_dream(dream_id=dream_id, message_id=message.message_id if message else "")
