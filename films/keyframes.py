"""Step: a scene's two keyframes (its first and last frame on the storyboard), composed offline
from its cast's photos in the film's style. Fresh while ``keyframes_key`` holds."""

from __future__ import annotations

from pathlib import Path

from generation.video import InvalidClipRequest

from .errors import StepError
from .files import fetch, save_result, store
from .keys import input_key
from .models import Scene


def cast_ids(scene: Scene) -> list[int]:
    """The ids of the characters in ``scene`` (its own cast, or the film's lead when empty)."""
    ids = sorted(character.pk for character in scene.cast.all())
    if ids:
        return ids
    lead = scene.film.cast.order_by("pk").first()
    return [lead.pk] if lead else []


def closes_chained(scene: Scene) -> bool:
    """Whether the scene's clip opens on the previous clip's last frame (continuous cuts, not
    the first scene), so that only its last keyframe is seen."""
    return scene.film.chaining and scene.position > 0


def keyframes_key(scene: Scene) -> str:
    """Inputs of a scene's two keyframes: their descriptions, framing, cast, the film's style
    and shape, and the keyframe seed."""
    film = scene.film
    return input_key(
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


def keyframes_fresh(scene: Scene) -> bool:
    """Whether the scene's keyframes are made from its current inputs."""
    return bool(scene.first_keyframe) and scene.keyframes_key == keyframes_key(scene)


def make_keyframes(scene: Scene, *, workdir: Path) -> None:
    """Compose the scene's first and last keyframes (the film's frame size, JPEG) from its
    cast's photos in the film's style and store them. Raises ``StepError`` when a character
    has no photo, ``FilmGone`` when the scene was deleted meanwhile."""
    # OpenCV loads in the worker that composes, never in the web process that imports this.
    from generation.framing import compose_keyframe

    film = scene.film
    key = keyframes_key(scene)
    width, height = film.frame_size
    characters = list(scene.cast.all()) or list(film.cast.order_by("pk")[:1])
    names = {}
    for which, offset in (("first", 0), ("last", 1)):
        portraits = []
        for character in characters:
            images = character.ordered_images()
            if not images:
                raise StepError("keyframes", f"“{character.name}” has no reference photos.")
            # A chained scene's clip opens on the previous clip's end, so its first keyframe is
            # never seen: its last one takes the photos the first would have (where the cast
            # is composed), or the lead could vanish from a film whose later photos are not
            # of them.
            photo = 0 if closes_chained(scene) else offset
            image = images[(scene.keyframe_seed + photo) % len(images)]
            portraits.append(fetch(image.image, workdir / f"{which}-{character.pk}.jpg"))
        try:
            keyframe = compose_keyframe(
                portraits,
                framing=scene.framing,
                style=film.style,
                width=width,
                height=height,
                seed=scene.keyframe_seed + offset,
            )
        except InvalidClipRequest as error:
            raise StepError("keyframes", error.message) from error
        path = workdir / f"scene-{scene.number}-{which}.jpg"
        keyframe.save(path, "JPEG", quality=92)
        names[f"{which}_keyframe"] = store(film, path.name, path)
    save_result(scene, files=names, key_field="keyframes_key", key=key)
