"""Step: the script. A brief (idea, genre, theme, style, cast, length, voice, music) becomes a
draft film whose scenes are written offline (``generation.script``), each with its heading,
shot, narration, keyframe descriptions and length; its storyboard is prepared next."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from accounts.models import User
from characters.models import Character
from generation.script import scene_count_for, write_script
from generation.video import visible_text
from generation.writers import get_writer
from generation.writing import WriterError
from jobs.models import JobStatus
from lib.submissions import submit_once

from .brief import check_brief, shooting_backend
from .errors import FilmError
from .models import SEED_MAX, Film
from .script_scenes import add_scenes
from .storyboard import prepare_on_commit
from .writing import film_to_write


def create_film(
    *, owner: User, idea: str, genre: str, style: str, cast: Sequence[Character], voice: str,
    backend: str, target_seconds: int = 60, title: str = "", theme: str = "",
    music_mood: str = "", aspect_ratio: str | None = None, scene_count: int | None = None,
    chaining: bool = True, burn_subtitles: bool = False, draw_keyframes: bool = False,
    writer: str = "template", seed: int | None = None, submission_key: UUID | None = None,
) -> Film:  # fmt: skip
    """A draft film with its script written and its storyboard being prepared; with a
    language-model ``writer`` (a name in ``generation.writers``), a draft whose script its
    storyboard's preparation writes first (``films.writing``), its most expensive script
    reserved against the owner's daily budget.

    The script has ``scene_count`` scenes (default: by ``target_seconds``). Nothing else paid
    runs: keyframes and narration are made offline for the storyboard. The same
    ``submission_key`` sent again returns the film it made. Raises ``FilmError`` (nothing
    saved) for an empty or over-long idea, a cast that is empty, too large, someone else's or
    without photos, an unknown genre, style, voice or mood, a length or scene count out of
    range, a backend or writer not offered, a script over the budget, or ``draw_keyframes``
    (the GPU draws each scene's keyframes from the cast's photos when it renders) where the
    backend or the keyframe model cannot. Control characters are dropped from the title, idea
    and theme (a title is one line).
    """
    title = " ".join(visible_text(title).split())
    idea, theme = visible_text(idea), visible_text(theme)

    def make() -> Film:
        check_brief(
            owner=owner, idea=idea, theme=theme, genre=genre, style=style, cast=cast,
            voice=voice, music_mood=music_mood, target_seconds=target_seconds,
            scene_count=scene_count,
        )  # fmt: skip
        clip_backend, aspect = shooting_backend(
            backend, aspect_ratio=aspect_ratio, draw_keyframes=draw_keyframes
        )
        try:
            chosen_writer = get_writer(writer)
        except WriterError as error:
            raise FilmError(error.message) from None
        chosen_seed = random.SystemRandom().randint(0, SEED_MAX) if seed is None else seed
        brief = {
            "idea": idea.strip(), "genre": genre, "theme": theme.strip(), "style": style,
            "target_seconds": target_seconds, "scene_count": scene_count, "voice": voice,
            "music_mood": music_mood, "aspect_ratio": aspect, "chaining": chaining,
            "burn_subtitles": burn_subtitles, "draw_keyframes": draw_keyframes,
            "seed": chosen_seed, "backend": clip_backend.name, "writer": chosen_writer.name,
        }  # fmt: skip
        made = film_to_write if chosen_writer.paid else _film_written
        return made(owner=owner, cast=cast, title=title, submission_key=submission_key, **brief)

    return submit_once(Film, owner=owner, submission_key=submission_key, create=make)


def _film_written(
    *, owner: User, cast: Sequence[Character], title: str, submission_key: UUID | None,
    **brief: Any,
) -> Film:  # fmt: skip
    """The draft film with the template's script, its storyboard prepared once committed."""
    script = write_script(
        idea=brief["idea"], theme=brief["theme"], genre=brief["genre"],
        cast=[character.name for character in cast],
        scene_count=brief["scene_count"] or scene_count_for(brief["target_seconds"]),
        target_seconds=brief["target_seconds"], seed=brief["seed"], title=title,
    )  # fmt: skip
    film = Film.objects.create(
        owner=owner, title=script["title"], logline=script["logline"], status=JobStatus.DRAFT,
        stage="storyboard", submission_key=submission_key, **brief,
    )  # fmt: skip
    film.cast.set(cast)
    add_scenes(film, script, cast=cast)
    prepare_on_commit(film)
    return film
