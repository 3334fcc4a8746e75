"""The key of each step's inputs: a step's result is fresh while the key it was made from is the
key its inputs give now. One edit changes the keys of exactly the steps that depend on it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from .models import Film, Scene


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def cast_ids(scene: Scene) -> list[int]:
    """The ids of the characters in ``scene`` (its own cast, or the film's lead when empty)."""
    ids = sorted(character.pk for character in scene.cast.all())
    if ids:
        return ids
    lead = scene.film.cast.order_by("pk").first()
    return [lead.pk] if lead else []


def keyframes_key(scene: Scene) -> str:
    """Inputs of a scene's two keyframes: their descriptions, framing, cast, the film's style
    and shape, and the keyframe seed."""
    film = scene.film
    return _key(
        "keyframes-1",
        scene.first_frame_text,
        scene.last_frame_text,
        scene.framing,
        cast_ids(scene),
        film.style,
        film.aspect_ratio,
        scene.keyframe_seed,
        # Only when so, so the keys of other scenes stay as they were.
        *(["closes-chained"] if closes_chained(scene) else []),
    )


def closes_chained(scene: Scene) -> bool:
    """Whether the scene's clip opens on the previous clip's last frame (continuous cuts, not
    the first scene), so that only its last keyframe is seen."""
    return scene.film.chaining and scene.position > 0


def narration_key(scene: Scene) -> str:
    """Inputs of a scene's narration: its words and the film's voice."""
    return _key("narration-1", " ".join(scene.narration.split()), scene.film.voice)


def clip_key(scene: Scene, *, previous: Scene | None) -> str:
    """Inputs of a scene's clip: its keyframes, shot, narration (which sets its length),
    the film's backend and the clip seed, whether the GPU draws the keyframes, and, when the
    film chains scenes, the previous scene's last frame (by content, so a redone scene that
    ends the same changes nothing)."""
    film = scene.film
    opening = previous.last_frame_digest if film.chaining and previous is not None else ""
    return _key(
        "clip-1",
        scene.keyframes_key,
        scene.shot,
        scene.narration_key,
        film.backend,
        film.style,
        scene.clip_seed,
        opening,
        # Only when on, so the keys of films made before the option stay as they were.
        *(["drawn-keyframes"] if film.draw_keyframes else []),
    )


def music_key(film: Film, seconds: float) -> str:
    """Inputs of the music bed: the mood, the film's length (to the second), its seed."""
    return _key("music-1", film.music_mood, film.genre, round(seconds), film.seed)


def assembly_key(film: Film, scenes: Sequence[Scene]) -> str:
    """Inputs of the finished film: every scene's clip, narration and transition, the music,
    the title and the subtitle options."""
    return _key(
        "assembly-1",
        [(s.clip_key, s.narration_key, s.transition, s.heading) for s in scenes],
        film.music_key,
        film.title,
        film.burn_subtitles,
    )


def piece_key(*parts: Any) -> str:
    """The key of one encoded piece of the assembly (a scene's body or a seam)."""
    return _key("piece-1", *parts)
