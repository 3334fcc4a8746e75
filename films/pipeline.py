"""The order of a film's steps: the body of the ``advance_film`` actor.

``advance_film`` runs whenever something may have changed (Render pressed, a scene's clip
settled, a retry, a restart). It holds the film for its message (``jobs.lifecycle.hold``), then
does whatever is next and stale, step by step:

1. ``storyboard``: each scene's keyframes (``keyframes``) and narration (``narration``);
2. ``clips``: each scene's clip, queued as a scene job (in order when scenes chain, all at once
   otherwise); while they render, the pieces whose inputs are final (``pieces``) and the
   music (``music``) are made, and the film is released: no worker waits on it, and each
   scene that settles sends ``advance_film`` again;
3. ``assembly``: the finished film.

A crash resumes from the last finished step, because every step is a row plus files with the
key of its inputs (``keys``).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from decimal import Decimal
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import DatabaseError

from generation.registry import UnknownBackend, get_backend
from jobs import lifecycle
from jobs.events import publish
from jobs.models import ACTIVE_STATUSES, JobStatus
from jobs.workdirs import work_folder
from lib.heartbeat import beating

from .assembly import assemble, assembly_key
from .clips import clip_fresh, clip_key, queue_clip
from .errors import FilmGone, StepError, unexpected
from .files import clean_up_if_deleted
from .models import Film, Scene
from .narration import scene_length
from .pieces import prepare_early
from .storyboard import prepare_scene, scenes_of, show_error, stale_steps

logger = logging.getLogger(__name__)

#: Seconds between a held film's signs of life while its pass runs (as a GPU render's):
#: short of any sweep allowance, whatever the sweeper's own settings say.
HEARTBEAT_SECONDS = 1.0
#: Shares of a film's progress by stage (they add up to 1).
WEIGHTS = {"keyframes": 0.05, "narration": 0.05, "clips": 0.75, "assembly": 0.15}


class _Lost(Exception):
    """The film stopped being this message's (cancelled, or taken over)."""


def _report(film: Film, stage: str, fraction: float) -> None:
    """Write the film's stage and progress; a film's progress never goes back within an
    attempt (each pass starts again from its first step, most of them already done)."""
    if not lifecycle.set_progress(film, stage=stage, fraction=max(fraction, film.progress)):
        raise _Lost()


def advance(*, film_id: int, message_id: str) -> None:
    """Move film ``film_id`` on as far as it can go now (see the module's docstring). A step
    that fails fails the film, naming the step; only a lost database propagates, for the
    actor to retry."""
    film = lifecycle.hold(Film, job_id=film_id, message_id=message_id)
    if film is None:
        logger.info("film-%s is not this message's to move.", film_id)
        return
    while True:
        try:
            with work_folder(film.log_id) as folder, _alive(film):
                waiting = _advance_once(film, Path(folder))
        except (_Lost, FilmGone):
            logger.info("%s stopped meanwhile.", film.log_id)
            clean_up_if_deleted(film)
            return
        except StepError as error:
            lifecycle.fail(film, stage=error.stage, message=error.message)
            return
        except Exception as error:
            if isinstance(error, DatabaseError):
                raise
            # Nothing may stay "running" with no worker: name the stage it stopped in.
            logger.exception("%s failed", film.log_id)
            film.refresh_from_db(fields=["stage"])
            lifecycle.fail(film, stage=film.stage or "preparing", message=unexpected(error))
            return
        if not waiting or not lifecycle.release(film):
            return
        # A scene may have settled between our look and letting go: look once more.
        if not _has_settled_work(film):
            return
        held = lifecycle.hold(Film, job_id=film_id, message_id=message_id)
        if held is None:
            return
        film = held


def _alive(film: Film) -> AbstractContextManager[None]:
    """Beat for the held film while its pass runs: making the pieces, the music or the cut
    may take longer than the sweep's allowance with no step to report, and a sweep then
    requeued a live pass (three times: a false failure)."""
    return beating(lambda: lifecycle.beat(film), every_seconds=HEARTBEAT_SECONDS)


def _has_settled_work(film: Film) -> bool:
    """Whether the film can move on now without waiting for a message: a stale clip that
    is not being rendered (the next in a chain, a failed one), or every clip ready."""
    previous: Scene | None = None
    rendering = False
    for scene in scenes_of(film):
        fresh = clip_fresh(scene, previous=previous)
        previous = scene
        if fresh:
            continue
        if scene.status not in ACTIVE_STATUSES:
            return True
        if film.chaining:
            return False
        # A clip still rendering: its own message moves the film on when it settles. (This
        # said "move on" here, so an unchained film's pass looped, holding a worker, and its
        # scenes rendered one at a time.)
        rendering = True
    return not rendering


def _advance_once(film: Film, workdir: Path) -> bool:
    """One pass over the film's steps; returns True when it must wait for clips."""
    scenes = scenes_of(film)
    count = len(scenes)
    for index, scene in enumerate(scenes):
        if not stale_steps(scene):
            continue
        stage = f"keyframes and narration of scene {scene.number}"
        _report(film, stage, WEIGHTS["keyframes"] * index / count)
        try:
            prepare_scene(scene, workdir=workdir)
        except StepError as error:
            show_error(scene, error)
            raise StepError(f"{error.stage} of scene {scene.number}", error.message) from error
        publish(scene)
    ready, lengths = _queue_clips(film, scenes)
    done = sum(ready)
    fraction = WEIGHTS["keyframes"] + WEIGHTS["narration"] + WEIGHTS["clips"] * done / count
    if done < count:
        _report(film, f"rendering clips ({done} of {count} done)", fraction)
        # Meanwhile, the pieces of the assembly whose inputs are final.
        prepare_early(film, scenes, ready=ready, lengths=lengths, workdir=workdir)
        return True
    _report(film, "assembling", fraction)
    _assemble(film, scenes, workdir)
    return False


def _assemble(film: Film, scenes: list[Scene], workdir: Path) -> None:
    """Finish the film: with the cut it has when that is fresh, else with a new one (a film
    cancelled or deleted meanwhile keeps none of the new files)."""
    key = assembly_key(film, scenes)
    if film.assembly_key == key and film.video:
        lifecycle.finish(film, cost_usd=film.cost_usd)
        return
    base = 1 - WEIGHTS["assembly"]
    fields = assemble(
        film,
        scenes,
        workdir=workdir,
        progress=lambda stage, f: _report(film, stage, base + WEIGHTS["assembly"] * f),
    )
    files = ("video", "poster", "subtitles_vtt", "subtitles_srt")
    old = [getattr(film, field).name for field in files]
    new = [str(fields[field]) for field in files if fields.get(field)]
    cost = sum((s.cost_usd or Decimal(0) for s in scenes), start=Decimal(0))
    finished = lifecycle.finish(film, assembly_key=key, cost_usd=cost, **fields)
    for name in old if finished else new:
        if name:
            default_storage.delete(name)
    if not finished:
        clean_up_if_deleted(film)


def _queue_clips(film: Film, scenes: list[Scene]) -> tuple[list[bool], list[float | None]]:
    """Queue every scene whose clip is stale and may start now. Returns which scenes have a
    fresh clip, and each scene's clip length in seconds (None where its narration is too
    long for the backend). Raises ``StepError`` naming a scene that failed."""
    ready: list[bool] = []
    lengths: list[float | None] = []
    previous: Scene | None = None
    chain_blocked = False
    try:
        backend = get_backend(film.backend, offered_only=False)
    except UnknownBackend:
        raise StepError(
            "rendering clips", f"The backend “{film.backend}” is not available."
        ) from None
    for scene in scenes:
        wanted = clip_key(scene, previous=previous)
        fresh = clip_fresh(scene, previous=previous)
        previous = scene
        ready.append(fresh)
        lengths.append(scene.clip_seconds if fresh else scene_length(scene, backend))
        if fresh:
            continue
        if (
            scene.status in (JobStatus.FAILED, JobStatus.CANCELED)
            and scene.pending_clip_key == wanted
        ):
            what = "was cancelled" if scene.status == JobStatus.CANCELED else scene.error
            raise StepError(f"the clip of scene {scene.number}", f"Scene {scene.number}: {what}")
        if film.chaining and chain_blocked:
            continue
        chain_blocked = True
        if scene.status in ACTIVE_STATUSES and scene.pending_clip_key == wanted:
            continue
        queue_clip(film, scene, key=wanted, backend=backend)
    return ready, lengths
