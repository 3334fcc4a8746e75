"""Progress events: what a page learns about a job, and how the worker tells it.

One event is published per change of status, stage or whole percent; it carries the job's full
state (``Job.progress_event``), so a page that missed events is right again after the next one
or a re-sync. Events go to the owner's group only, keyed by job kind and id.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import TYPE_CHECKING

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

if TYPE_CHECKING:
    from .models import Job

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    """The channel-layer group that receives every event about ``user_id``'s jobs."""
    return f"user.{user_id}"


def publish(job: Job) -> None:
    """Send ``job``'s state to its owner's open pages. Never raises: a page that misses an
    event re-syncs from the database, but a job must not fail because nobody is listening."""
    # published_at (Unix seconds) lets a client, or bench/browser_progress_latency.py, see how
    # long the event took to arrive.
    event = {**job.progress_event(), "published_at": time.time()}
    try:
        async_to_sync(get_channel_layer().group_send)(
            user_group(job.feed_user_id()), {"type": "job.event", "event": event}
        )
    except Exception as error:
        # One line, not a traceback: while Redis restarts this happens once per percent.
        logger.warning("Could not publish progress of %s: %r", job.log_id, error)


def session_digest(session_key: str | None) -> str:
    """A stand-in for ``session_key`` that can travel through the channel layer: the key
    itself signs a browser in, so it is never sent."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()


def recheck_sessions(*, user_id: int, ended_session_key: str | None = None) -> None:
    """Ask each open page of ``user_id`` to check that its session still signs it in: after
    a sign-out (``ended_session_key``: the session being ended, whose pages close at once, as
    the signal comes before the session is deleted), or a password change or reset that ended
    the user's other sessions. A page whose session ended has its socket closed with code
    4401 and receives no more events. Never raises, as ``publish``: the sign-out itself must
    go through."""
    ended = session_digest(ended_session_key) if ended_session_key else ""
    try:
        async_to_sync(get_channel_layer().group_send)(
            user_group(user_id), {"type": "session.recheck", "ended": ended}
        )
    except Exception as error:
        logger.warning("Could not ask the pages of user %s to recheck: %r", user_id, error)
