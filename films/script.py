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
from generation.beats import GENRES
from generation.music import MOODS
from generation.registry import UnknownBackend, get_backend
from generation.script import MAX_SCENES as SCRIPT_MAX_SCENES
from generation.script import MIN_SCENES, scene_count_for, write_script
from generation.styles import STYLES
from generation.video import ClipBackend, visible_text
from generation.voices import find_voice
from generation.writers import get_writer
from generation.writing import CastMember, ScriptBrief, WriterError
from jobs.models import JobStatus
from lib.submissions import submit_once

from .errors import FilmError
from .models import (
    IDEA_MAX_CHARS,
    MAX_FILM_SECONDS,
    MIN_FILM_SECONDS,
    SCRIPT_STAGE,
    SEED_MAX,
    THEME_MAX_CHARS,
    Film,
    Scene,
)
from .storyboard import prepare_on_commit


def check_brief(
    *, owner: User, idea: str, theme: str, genre: str, style: str, cast: Sequence[Character],
    voice: str, music_mood: str, target_seconds: int, scene_count: int | None,
) -> None:  # fmt: skip
    """Raise ``FilmError`` (with the first problem) unless the brief can make a film: an idea
    within ``IDEA_MAX_CHARS``, a theme within ``THEME_MAX_CHARS``, one to three of ``owner``'s
    characters with photos, a known genre, style, voice and mood, ``target_seconds`` within
    the film's range and ``scene_count`` (None: by length) within the script's."""
    if not visible_text(idea):
        raise FilmError("Write the idea of your film: what happens, to whom?")
    if len(idea) > IDEA_MAX_CHARS:
        raise FilmError(f"The idea is {len(idea)} characters; keep it under {IDEA_MAX_CHARS}.")
    if len(theme) > THEME_MAX_CHARS:
        raise FilmError(f"The theme is {len(theme)} characters; keep it under {THEME_MAX_CHARS}.")
    if not cast:
        raise FilmError("Choose one to three of your characters for the cast.")
    if len(cast) > 3:
        raise FilmError("A film's cast has at most three characters.")
    if any(character.owner_id != owner.pk for character in cast):
        raise FilmError("Choose the cast from your own characters.")
    for character in cast:
        if not character.images.exists():
            raise FilmError(f"“{character.name}” has no reference photos yet.")
    if genre not in GENRES:
        raise FilmError(f"Unknown genre “{genre}”.")
    if style not in STYLES:
        raise FilmError(f"Unknown visual style “{style}”.")
    if find_voice(voice) is None:
        raise FilmError(f"The voice “{voice}” is not installed on this site.")
    if music_mood not in ("", "none", *MOODS):
        raise FilmError(f"Unknown music mood “{music_mood}”.")
    if not MIN_FILM_SECONDS <= target_seconds <= MAX_FILM_SECONDS:
        raise FilmError(
            f"A film lasts {MIN_FILM_SECONDS} seconds to {MAX_FILM_SECONDS // 60} minutes, "
            f"not {target_seconds} seconds."
        )
    if scene_count is not None and not MIN_SCENES <= scene_count <= SCRIPT_MAX_SCENES:
        raise FilmError(
            f"A new film has {MIN_SCENES} to {SCRIPT_MAX_SCENES} scenes, not {scene_count}."
        )


def offered_backend(name: str) -> ClipBackend:
    """The clip backend called ``name``. Raises ``FilmError`` when it is not offered here."""
    try:
        return get_backend(name)
    except UnknownBackend:
        raise FilmError(f"The backend “{name}” is not available.") from None


def shooting_backend(
    name: str, *, aspect_ratio: str | None, draw_keyframes: bool
) -> tuple[ClipBackend, str]:
    """The clip backend called ``name`` and the aspect ratio (e.g. "16:9") it will shoot:
    ``aspect_ratio`` or, when None, the backend's first. Raises ``FilmError`` when the backend
    is not offered, does not make that aspect ratio, or cannot draw keyframes now where
    ``draw_keyframes`` asks it to."""
    clip_backend = offered_backend(name)
    offered = clip_backend.capabilities.aspect_ratios
    aspect = aspect_ratio or offered[0]
    if aspect not in offered:
        raise FilmError(f"{clip_backend.label} makes {', '.join(offered)} video, not {aspect}.")
    if draw_keyframes and (problem := clip_backend.drawing_problem()):
        raise FilmError(f"The keyframes cannot be drawn on the GPU now. {problem}")
    return clip_backend, aspect


def script_brief(
    *, owner: User, idea: str, genre: str, style: str, cast: Sequence[Character], voice: str,
    backend: str, target_seconds: int = 60, scene_count: int | None = None, theme: str = "",
    title: str = "", seed: int = 0,
) -> ScriptBrief:  # fmt: skip
    """What a script writer is given for this brief: the cast with their character sheets
    (``Character.sheet``), the narration voice's language and the clip backend's scene lengths
    (its ``scene_seconds``, else its shortest to longest duration). Raises ``FilmError`` as
    ``check_brief`` does, or for a backend not offered."""
    idea, theme = visible_text(idea), visible_text(theme)
    check_brief(
        owner=owner, idea=idea, theme=theme, genre=genre, style=style, cast=cast, voice=voice,
        music_mood="", target_seconds=target_seconds, scene_count=scene_count,
    )  # fmt: skip
    capabilities = offered_backend(backend).capabilities
    durations = capabilities.durations_seconds
    spoken = find_voice(voice)
    return ScriptBrief(
        idea=idea.strip(), theme=theme.strip(), genre=genre, style=style, seed=seed,
        title=" ".join(visible_text(title).split()),
        cast=tuple(CastMember(c.name, c.sheet) for c in cast),
        scene_count=scene_count or scene_count_for(target_seconds),
        target_seconds=target_seconds,
        language=spoken.language_name if spoken else "English",
        scene_seconds=capabilities.scene_seconds or (min(durations), max(durations)),
        # Scenes of any length are rendered between their keyframes (the animatic, the GPU).
        keyframes=bool(capabilities.first_frame_durations or capabilities.scene_seconds),
    )  # fmt: skip


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
        made = _film_to_write if chosen_writer.paid else _film_written
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


def _film_to_write(
    *, owner: User, cast: Sequence[Character], title: str, submission_key: UUID | None,
    **brief: Any,
) -> Film:  # fmt: skip
    """The draft film whose script a language model writes: no scenes yet, its script's
    charge reserved, its preparation (which writes it) sent once committed."""
    from .writing import brief_of, provisional_title, reserve_script

    film = Film.objects.create(
        owner=owner, title=title or provisional_title(brief["idea"]), status=JobStatus.DRAFT,
        stage=SCRIPT_STAGE, submission_key=submission_key, **brief,
    )  # fmt: skip
    film.cast.set(cast)
    reserve_script(film=film, writer=get_writer(film.writer), brief=brief_of(film))
    prepare_on_commit(film)
    return film


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
