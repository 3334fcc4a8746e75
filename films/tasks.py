"""Dramatiq actors for films. They load rows by id and call one function; nothing else.

Queues by resource (DESIGN.md): ``media`` for keyframes, narration, the animatic and the
assembly (CPU and ffmpeg). A cloud scene's invocation runs on the ``cloud`` queue through
``jobs.tasks``.
"""

import dramatiq

from jobs.render import run_render
from jobs.tasks import JOB_ACTOR_OPTIONS
from lib.logs import job_context, job_log_id

from . import pipeline, preparation

#: Wall-clock limit of one message, in milliseconds: a ten-minute film's assembly fits.
FILM_TIME_LIMIT_MS = 60 * 60 * 1000
SCENE_TIME_LIMIT_MS = 60 * 60 * 1000  # a scene's clip: as long as a dream's


def _message_id() -> str:
    message = dramatiq.middleware.CurrentMessage.get_current_message()
    return message.message_id if message else ""


@dramatiq.actor(queue_name="media", time_limit=FILM_TIME_LIMIT_MS, **JOB_ACTOR_OPTIONS)
def advance_film(film_id: int) -> None:
    """Move film ``film_id`` on: its next stale steps, or wait for its clips."""
    with job_context(job_id=job_log_id("film", film_id)):
        pipeline.advance(film_id=film_id, message_id=_message_id())


@dramatiq.actor(queue_name="media", time_limit=FILM_TIME_LIMIT_MS, **JOB_ACTOR_OPTIONS)
def prepare_storyboard(film_id: int) -> None:
    """Write film ``film_id``'s script or rewrite where a model was asked to, then make the
    stale keyframes and narrations of its storyboard."""
    with job_context(job_id=job_log_id("film", film_id)):
        preparation.prepare_film(film_id=film_id)


@dramatiq.actor(queue_name="media", time_limit=SCENE_TIME_LIMIT_MS, **JOB_ACTOR_OPTIONS)
def render_scene(scene_id: int) -> None:
    """Render the clip of scene ``scene_id`` on this machine."""
    with job_context(job_id=job_log_id("scene", scene_id)):
        run_render(kind="scene", job_id=scene_id, message_id=_message_id())
