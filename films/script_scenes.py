"""A written script's scenes made into a film's draft scenes, with their seeds and cast."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from characters.models import Character
from jobs.models import JobStatus

from .models import SEED_MAX, Film, Scene


def add_scenes(film: Film, script: dict[str, Any], *, cast: Sequence[Character]) -> None:
    """Add ``script``'s scenes to ``film`` (which has none), each with its keyframe and clip
    seeds drawn from the film's seed and the cast members it names."""
    rng = random.Random(f"scenes-{film.seed}")
    for position, written in enumerate(script["scenes"]):
        add_written_scene(film, written, position=position, cast=cast, rng=rng)


def add_written_scene(
    film: Film, written: dict[str, Any], *, position: int, cast: Sequence[Character],
    rng: random.Random,
) -> Scene:  # fmt: skip
    """A draft scene of ``film`` at ``position`` from one scene of a script (``written``), its
    seeds drawn from ``rng``, cast with the members of ``cast`` it names."""
    by_name = {character.name: character for character in cast}
    scene = Scene.objects.create(
        film=film, owner=film.owner, position=position, heading=written["heading"],
        shot=written["shot"], narration=written["narration"],
        first_frame_text=written["first_frame"], last_frame_text=written["last_frame"],
        framing=written["framing"], planned_seconds=written["duration_seconds"],
        keyframe_seed=rng.randint(0, SEED_MAX), clip_seed=rng.randint(0, SEED_MAX),
        backend=film.backend, status=JobStatus.DRAFT,
    )  # fmt: skip
    scene.cast.set([by_name[name] for name in written["cast"] if name in by_name])
    return scene
