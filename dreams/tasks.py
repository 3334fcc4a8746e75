"""Dramatiq actors for dreams. They load rows by id and call a service; nothing else.

Queues by resource (DESIGN.md): ``media`` renders on this machine's CPU. A cloud dream's
invocation runs on the ``cloud`` queue through ``jobs.tasks``.
"""

import dramatiq

from jobs.render import run_render
from jobs.tasks import JOB_ACTOR_OPTIONS
from lib.logs import job_context, job_log_id

#: Wall-clock limit of one render attempt, in milliseconds.
# (A 720p Wan clip on the local GPU takes about 21 minutes: 50 steps of 25 s on an H100.)
RENDER_TIME_LIMIT_MS = 60 * 60 * 1000


@dramatiq.actor(queue_name="media", time_limit=RENDER_TIME_LIMIT_MS, **JOB_ACTOR_OPTIONS)
def render_dream(dream_id: int) -> None:
    """Render dream ``dream_id`` (CPU and ffmpeg work, hence the ``media`` queue)."""
    message = dramatiq.middleware.CurrentMessage.get_current_message()
    with job_context(job_id=job_log_id("dream", dream_id)):
        run_render(kind="dream", job_id=dream_id, message_id=message.message_id if message else "")
