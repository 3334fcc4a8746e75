"""Progress events: what a page learns about a job, and how the worker tells it.

One event is published per change of status, stage or whole percent; it carries the job's full
state, so a page that missed events is right again after the next one (or a re-sync).
"""

from __future__ import annotations

import hashlib
import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.urls import reverse

from .budget import format_usd
from .models import Dream, DreamStatus, FailureKind

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    """The channel-layer group that receives every event about ``user_id``'s jobs."""
    return f"user.{user_id}"


def dream_event(dream: Dream) -> dict:
    """The state of ``dream`` as the browser sees it; ``percent`` is an integer 0-100."""
    succeeded = dream.status == DreamStatus.SUCCEEDED
    return {
        "kind": "dream",
        "id": str(dream.public_id),
        "status": dream.status,
        "status_label": dream.get_status_display(),
        "stage": dream.stage,
        "percent": 100 if succeeded else min(int(dream.progress * 100), 99),
        "error": dream.error,
        "video_url": reverse("dreams:video", args=[dream.public_id]) if succeeded else "",
        "poster_url": reverse("dreams:poster", args=[dream.public_id]) if dream.poster else "",
        "duration_seconds": dream.duration_seconds,
        "can_cancel": dream.can_cancel,
        "can_retry": dream.can_retry,
        # The actual cost once known, else the estimate quoted on submit.
        "cost": format_usd(
            dream.cost_usd if dream.cost_usd is not None else dream.estimated_cost_usd
        ),
        "cost_is_estimate": dream.cost_usd is None,
        "content_filtered": dream.failure_kind == FailureKind.CONTENT_FILTER,
    }


def publish_dream(dream: Dream) -> None:
    """Send ``dream``'s state to its owner's open pages. Never raises: a page that misses an
    event re-syncs from the database, but a job must not fail because nobody is listening."""
    # published_at (Unix seconds) lets a client, or bench/browser_progress_latency.py, see how
    # long the event took to arrive.
    event = {**dream_event(dream), "published_at": time.time()}
    try:
        async_to_sync(get_channel_layer().group_send)(
            user_group(dream.owner_id), {"type": "job.event", "event": event}
        )
    except Exception as error:
        # One line, not a traceback: while Redis restarts this happens once per percent.
        logger.warning("Could not publish progress of dream %s: %r", dream.public_id, error)


def session_digest(session_key: str | None) -> str:
    """A stand-in for ``session_key`` that can travel through the channel layer: the key
    itself signs a browser in, so it is never sent."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()


def recheck_sessions(*, user_id: int, ended_session_key: str | None = None) -> None:
    """Ask each open page of ``user_id`` to check that its session still signs it in: after
    a sign-out (``ended_session_key``: the session being ended, whose pages close at once, as
    the signal comes before the session is deleted), or a password change or reset that ended
    the user's other sessions. A page whose session ended has its socket closed with code
    4401 and receives no more events. Never raises, as ``publish_dream``: the sign-out itself
    must go through."""
    ended = session_digest(ended_session_key) if ended_session_key else ""
    try:
        async_to_sync(get_channel_layer().group_send)(
            user_group(user_id), {"type": "session.recheck", "ended": ended}
        )
    except Exception as error:
        logger.warning("Could not ask the pages of user %s to recheck: %r", user_id, error)
