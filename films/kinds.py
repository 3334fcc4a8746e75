"""The job kinds films register with ``jobs.kinds`` (``FilmsConfig.ready``): a scene, whose work
is its clip, and a film, which its pipeline moves on (``advance_film``) and which is assembled,
not rendered as one clip."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from jobs.dispatch import Step, send
from jobs.kinds import ClipKind, JobKind
from jobs.models import ACTIVE_STATUSES

from .clips import clip_request, store_clip
from .models import SCRIPT_STAGE, Film, Scene


def owned_scenes(user: Any) -> QuerySet[Scene]:
    """The scenes ``user`` may follow on the live feed: those of their own films."""
    return Scene.objects.filter(owner=user)


def owned_films(user: Any) -> QuerySet[Film]:
    """The films ``user`` may follow on the live feed: their own."""
    return Film.objects.filter(owner=user)


def film_waiting(film: Film) -> bool:
    """Whether ``film`` waits on a scene's clip still queued or rendering (each that settles
    moves the film on)."""
    return film.scenes.filter(status__in=ACTIVE_STATUSES).exists()


def unprepared_films() -> QuerySet[Film]:
    """Films not rendering whose storyboard lacks a scene's keyframes or narration, or whose
    script (or a revision of it) a language model has not written yet, with no error shown for
    it: their preparation stopped (a killed worker) before it finished."""
    missing = Scene.objects.filter(
        Q(first_keyframe="") | Q(narration_audio=""), film=OuterRef("pk"), error=""
    )
    unwritten = (Q(stage=SCRIPT_STAGE) | ~Q(revision_scope="")) & Q(error="")
    return Film.objects.exclude(status__in=ACTIVE_STATUSES).filter(Exists(missing) | unwritten)


def scene_settled(scene: Scene) -> None:
    """A scene's clip succeeded, failed or was cancelled: its film moves on."""
    send(Step("advance_film", (scene.film_id,)))


SCENE_KIND = ClipKind(
    name="scene",
    model=Scene,
    render_actor="render_scene",
    clip_request=clip_request,
    store_clip=store_clip,
    owned=owned_scenes,
    on_settled=scene_settled,
)

FILM_KIND = JobKind(
    name="film",
    model=Film,
    render_actor="advance_film",
    owned=owned_films,
    queue="media",
    waiting=film_waiting,
    unprepared=unprepared_films,
    prepare_actor="prepare_storyboard",
)
