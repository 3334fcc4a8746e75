"""Step: the storyboard, each scene's keyframes and narration made offline (free) as soon as
the script is written or edited, so the storyboard shows them and quotes exact lengths before
anything is paid for; a render makes whichever are still stale first (``prepare_scene``)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.utils import timezone

from jobs.dispatch import Step, send
from jobs.events import publish
from jobs.workdirs import work_folder

from .errors import FilmGone, StepError, unexpected
from .files import clean_up_if_deleted
from .keyframes import keyframes_fresh, make_keyframes
from .models import Film, Scene
from .narration import make_narration, narration_fresh

logger = logging.getLogger(__name__)

#: The fields each step writes.
STEP_FIELDS = {
    "keyframes": ("first_keyframe", "last_keyframe", "keyframes_key"),
    "narration": ("narration_audio", "narration_key", "narration_seconds", "cues"),
}
#: Longest one step of one scene holds its lock, and longest another worker waits for it, in
#: seconds (a narration of 1,000 characters takes Piper about 20 s on 2 cores).
STEP_LOCK_SECONDS, STEP_WAIT_SECONDS = 300, 120


def prepare_on_commit(film: Film) -> None:
    """Once the current transaction commits, send the film's ``prepare_storyboard``."""
    transaction.on_commit(lambda: send(Step("prepare_storyboard", (film.pk,))))


def stale_steps(scene: Scene) -> list[tuple[str, Callable[..., None]]]:
    """The scene's steps whose results are missing or were made from other inputs, in order:
    (stage, make) pairs of "keyframes" and "narration"."""
    steps: list[tuple[str, Callable[..., None]]] = []
    if not keyframes_fresh(scene):
        steps.append(("keyframes", make_keyframes))
    if not narration_fresh(scene):
        steps.append(("narration", make_narration))
    return steps


def prepare_scene(scene: Scene, *, workdir: Path) -> bool:
    """Make whichever of the scene's keyframes and narration are stale; returns whether
    anything was made. Raises ``StepError`` naming the step that failed, whatever went wrong
    in it (an unexpected error is logged with its traceback and named by its type), so no
    caller is left holding a film that is still "running"; a lost database is re-raised for
    the actor to retry, and ``FilmGone`` when the scene was deleted meanwhile."""
    made = False
    for stage, _ in stale_steps(scene):
        with _one_at_a_time(scene, stage):
            # Another worker may have made it while this one waited: look again.
            try:
                scene.refresh_from_db(fields=[*STEP_FIELDS[stage], "keyframe_seed", "narration"])
            except Scene.DoesNotExist:
                raise FilmGone() from None
            make = dict(stale_steps(scene)).get(stage)
            if make is None:
                continue
            try:
                make(scene, workdir=workdir)
            except (StepError, DatabaseError, FilmGone):
                raise
            except Exception as error:
                logger.exception("The %s of scene %s failed", stage, scene.pk)
                raise StepError(stage, unexpected(error)) from error
        made = True
    return made


@contextmanager
def _one_at_a_time(scene: Scene, stage: str) -> Iterator[None]:
    """Hold ``stage`` of ``scene`` for this worker (the storyboard's preparation and a render
    both prepare scenes): a second worker waits, then finds it made. A lock in the cache
    (``cache.add`` is atomic on Redis and in one process's memory); past the wait the worker
    goes ahead, and ``save_result`` still keeps one result."""
    key, token = f"film-step:{scene.pk}:{stage}", uuid.uuid4().hex
    deadline = time.monotonic() + STEP_WAIT_SECONDS
    while not cache.add(key, token, timeout=STEP_LOCK_SECONDS):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    try:
        yield
    finally:
        if cache.get(key) == token:
            cache.delete(key)


def show_error(scene: Scene, error: StepError) -> None:
    """Put a failed step's stage and message on the scene's card, live."""
    scene.error = f"{error.stage}: {error.message}"
    Scene.objects.filter(pk=scene.pk).update(error=scene.error)
    publish(scene)


def scenes_of(film: Film) -> list[Scene]:
    """The film's scenes in order, with their film and cast loaded."""
    return list(film.scenes.select_related("film").prefetch_related("cast").order_by("position"))


def prepare_storyboard(*, film_id: int) -> None:
    """Make the stale keyframes and narrations of a film's scenes (free, offline), so the
    storyboard shows them and quotes exact lengths before anything is paid for. A step that
    fails leaves the scene's error on the storyboard. Nothing for a film that renders (its
    pipeline prepares its scenes) or is gone."""
    film = Film.objects.filter(pk=film_id).first()
    if film is None or film.is_active:
        return
    with work_folder(f"storyboard-{film_id}") as folder:
        for scene in scenes_of(film):
            # A sign of life for the sweeper, which sends a preparation again only once the
            # film has been silent for longer than a step takes.
            Film.objects.filter(pk=film.pk).update(updated_at=timezone.now())
            try:
                if prepare_scene(scene, workdir=Path(folder)):
                    publish(scene)
            except StepError as error:
                show_error(scene, error)
            except FilmGone:
                # The scene (or its film) was deleted meanwhile.
                clean_up_if_deleted(film)
