"""Moving a film on: the body of the ``advance_film`` and ``prepare_storyboard`` actors.

``advance_film`` runs whenever something may have changed (Render pressed, a scene's clip
settled, a retry, a restart). It takes the film for its message (one holder at a time, by a
conditional update), then does whatever is next and stale: keyframes and narration for every
scene, the clips (queued as scene jobs: in order when scenes chain, all at once otherwise),
then the music and the assembly. While clips render it lets go of the film and holds no
worker; each scene that settles sends ``advance_film`` again. A crash resumes from the last
finished step, because every step is a row plus files with the key of its inputs.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone

from generation.registry import UnknownBackend, get_backend
from generation.video import ClipBackend, ClipInvocationBackend, ClipRenderer
from jobs import ledger, lifecycle
from jobs.dispatch import send_next
from jobs.events import publish
from jobs.invocations import current_invocation, new_invocation
from jobs.models import ACTIVE_STATUSES, JobStatus
from jobs.workdirs import work_folder

from . import assembling, keys, steps
from .models import Film, Scene
from .scenes import drawn_keyframes, previous_scene

logger = logging.getLogger(__name__)

#: Shares of a film's progress by stage (they add up to 1).
WEIGHTS = {"keyframes": 0.05, "narration": 0.05, "clips": 0.75, "assembly": 0.15}


def _take(film_id: int, message_id: str) -> Film | None:
    """Hold the film for ``message_id``: a queued film, or a running one nobody holds (or
    this message held before a redelivery). None when it is not this message's to move."""
    free = Q(status=JobStatus.RUNNING, job_message_id__in=["", message_id])
    taken = Film.objects.filter(Q(status=JobStatus.QUEUED) | free, pk=film_id).update(
        status=JobStatus.RUNNING, job_message_id=message_id, updated_at=timezone.now()
    )
    if not taken:
        return None
    film = Film.objects.get(pk=film_id)
    if film.started_at is None:
        Film.objects.filter(pk=film_id).update(started_at=timezone.now())
    return film


def _let_go(film: Film) -> bool:
    """Release the film while its clips render; True if this message still held it."""
    return bool(
        Film.objects.filter(
            pk=film.pk, status=JobStatus.RUNNING, job_message_id=film.job_message_id
        ).update(job_message_id="", updated_at=timezone.now())
    )


class _Lost(Exception):
    """The film stopped being this message's (cancelled, or taken over)."""


def _report(film: Film, stage: str, fraction: float) -> None:
    """Write the film's stage and progress; a film's progress never goes back within an
    attempt (each pass starts again from its first step, most of them already done)."""
    if not lifecycle.set_progress(film, stage=stage, fraction=max(fraction, film.progress)):
        raise _Lost()


def _scenes(film: Film) -> list[Scene]:
    return list(film.scenes.select_related("film").prefetch_related("cast").order_by("position"))


def advance(*, film_id: int, message_id: str) -> None:
    """Move film ``film_id`` on as far as it can go now (see the module's docstring)."""
    film = _take(film_id, message_id)
    if film is None:
        logger.info("film-%s is not this message's to move.", film_id)
        return
    while True:
        try:
            with work_folder(film.log_id) as folder:
                waiting = _advance_once(film, Path(folder))
        except (_Lost, steps.FilmGone):
            logger.info("%s stopped meanwhile.", film.log_id)
            _clean_up_if_deleted(film)
            return
        except steps.StepError as error:
            lifecycle.fail(film, stage=error.stage, message=error.message)
            return
        except Exception as error:
            if isinstance(error, DatabaseError):
                raise
            # Nothing may stay "running" with no worker: name the stage it stopped in.
            logger.exception("%s failed", film.log_id)
            film.refresh_from_db(fields=["stage"])
            lifecycle.fail(film, stage=film.stage or "preparing", message=steps.unexpected(error))
            return
        if not waiting:
            return
        if not _let_go(film):
            return
        # A scene may have settled between our look and letting go: look once more.
        film.job_message_id = ""
        if not _has_settled_work(film):
            return
        taken = _take(film_id, message_id)
        if taken is None:
            return
        film = taken


def _has_settled_work(film: Film) -> bool:
    """Whether the film can move on now without waiting for a message: a stale clip that
    is not being rendered (the next in a chain, a failed one), or every clip ready."""
    previous: Scene | None = None
    rendering = False
    for scene in _scenes(film):
        wanted = keys.clip_key(scene, previous=previous)
        previous = scene
        if scene.clip_key == wanted and scene.clip and scene.status == JobStatus.SUCCEEDED:
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
    scenes = _scenes(film)
    count = len(scenes)
    for index, scene in enumerate(scenes):
        if not steps.stale_steps(scene):
            continue
        _report(
            film,
            f"keyframes and narration of scene {scene.number}",
            WEIGHTS["keyframes"] * index / count,
        )
        try:
            steps.prepare_scene(scene, workdir=workdir)
        except steps.StepError as error:
            _show_error(scene, error)
            raise steps.StepError(
                f"{error.stage} of scene {scene.number}", error.message
            ) from error
        publish(scene)
    ready, lengths = _queue_clips(film, scenes)
    done = sum(ready)
    fraction = WEIGHTS["keyframes"] + WEIGHTS["narration"] + WEIGHTS["clips"] * done / count
    if done < count:
        _report(film, f"rendering clips ({done} of {count} done)", fraction)
        # Meanwhile, the pieces of the assembly whose inputs are final.
        assembling.prepare_early(film, scenes, ready=ready, lengths=lengths, workdir=workdir)
        return True
    _report(film, "assembling", fraction)
    key = keys.assembly_key(film, scenes)
    if film.assembly_key == key and film.video:
        lifecycle.finish(film, cost_usd=film.cost_usd)
        return False
    base = 1 - WEIGHTS["assembly"]
    fields = assembling.assemble(
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
    # A film cancelled or deleted meanwhile keeps none of the new files.
    for name in old if finished else new:
        if name:
            default_storage.delete(name)
    if not finished:
        _clean_up_if_deleted(film)
    return False


def _clean_up_if_deleted(film: Film) -> None:
    """A film deleted while this worker made its files: delete whatever it stored since."""
    if not Film.objects.filter(pk=film.pk).exists():
        steps.delete_film_files(film.public_id)


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
        raise steps.StepError(
            "rendering clips", f"The backend “{film.backend}” is not available."
        ) from None
    for scene in scenes:
        wanted = keys.clip_key(scene, previous=previous)
        previous = scene
        fresh = bool(
            scene.clip_key == wanted and scene.clip and scene.status == JobStatus.SUCCEEDED
        )
        ready.append(fresh)
        lengths.append(scene.clip_seconds if fresh else steps.scene_length(scene, backend))
        if fresh:
            continue
        if (
            scene.status in (JobStatus.FAILED, JobStatus.CANCELED)
            and scene.pending_clip_key == wanted
        ):
            what = "was cancelled" if scene.status == JobStatus.CANCELED else scene.error
            raise steps.StepError(
                f"the clip of scene {scene.number}", f"Scene {scene.number}: {what}"
            )
        if film.chaining and chain_blocked:
            continue
        chain_blocked = True
        if scene.status in ACTIVE_STATUSES and scene.pending_clip_key == wanted:
            continue
        _queue_scene(film, scene, wanted, backend)
    return ready, lengths


def _queue_scene(film: Film, scene: Scene, wanted: str, backend: ClipBackend) -> None:
    """Queue ``scene``'s clip for inputs ``wanted`` (a cloud scene gets its invocation, made
    when the film was rendered or now)."""
    seconds = steps.scene_length(scene, backend)
    if seconds is None:
        raise steps.StepError(
            f"the clip of scene {scene.number}",
            "Its narration is too long for one clip on this backend.",
        )
    queued = (
        Scene.objects.filter(pk=scene.pk)
        .exclude(status__in=ACTIVE_STATUSES)
        .update(
            status=JobStatus.QUEUED,
            stage="waiting for a worker",
            progress=0.0,
            error="",
            pending_clip_key=wanted,
            clip_seconds=seconds,
            backend=film.backend,
            job_message_id="",
            updated_at=timezone.now(),
        )
    )
    if not queued:
        return
    scene.refresh_from_db()
    if isinstance(backend, ClipRenderer) and not ledger.has_reserved_local(scene):
        # A GPU scene queued again (a retry, a re-render) records its GPU-seconds anew.
        continues = film.chaining and previous_scene(scene) is not None
        drawn = drawn_keyframes(film, continues=continues)
        new_invocation(
            job=scene, owner_id=scene.owner_id, backend=backend, video_seconds=seconds,
            estimate_usd=backend.estimate_cost_usd(seconds, drawn_keyframes=drawn),
            drawn_keyframes=drawn,
        )  # fmt: skip
    if isinstance(backend, ClipInvocationBackend):
        invocation = current_invocation(scene)
        if invocation is None or invocation.status not in ("queued",):
            new_invocation(
                job=scene,
                owner_id=scene.owner_id,
                backend=backend,
                video_seconds=seconds,
                estimate_usd=backend.estimate_cost_usd(seconds),
            )
    send_next(scene)


def prepare_storyboard(*, film_id: int) -> None:
    """Make the stale keyframes and narrations of a film's scenes (free, offline), so the
    storyboard shows them and quotes exact lengths before anything is paid for. A step that
    fails leaves the scene's error on the storyboard."""
    film = Film.objects.filter(pk=film_id).first()
    if film is None or film.is_active:
        return
    with work_folder(f"storyboard-{film_id}") as folder:
        for scene in _scenes(film):
            try:
                if steps.prepare_scene(scene, workdir=Path(folder)):
                    publish(scene)
            except steps.StepError as error:
                _show_error(scene, error)
            except steps.FilmGone:
                # The scene (or its film) was deleted meanwhile.
                _clean_up_if_deleted(film)


def _show_error(scene: Scene, error: steps.StepError) -> None:
    """Put a failed step's stage and message on the scene's card, live."""
    scene.error = f"{error.stage}: {error.message}"
    Scene.objects.filter(pk=scene.pk).update(error=scene.error)
    publish(scene)
