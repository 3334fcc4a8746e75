"""What a film's brief must be (``check_brief``), the clip backend it shoots with, and what a
script writer is given for it (``script_brief``): shared by the film's creation, its writers
and the film commands."""

from __future__ import annotations

from collections.abc import Sequence

from accounts.models import User
from characters.models import Character
from generation.beats import GENRES
from generation.music import MOODS
from generation.registry import UnknownBackend, get_backend
from generation.script import MAX_SCENES as SCRIPT_MAX_SCENES
from generation.script import MIN_SCENES, scene_count_for
from generation.styles import STYLES
from generation.video import ClipBackend, visible_text
from generation.voices import find_voice
from generation.writing import CastMember, ScriptBrief

from .errors import FilmError
from .models import IDEA_MAX_CHARS, MAX_FILM_SECONDS, MIN_FILM_SECONDS, THEME_MAX_CHARS


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
