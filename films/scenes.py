"""How a film's scene becomes a clip request and keeps its clip: the hooks its job kind
registers with ``jobs.kinds`` (see ``FilmsConfig.ready``). A scene renders through the same
clip path as a dream (``jobs.render`` for a local backend, ``jobs.cloud`` for a provider)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import QuerySet

from generation.styles import STYLES
from generation.video import (
    BodyPiece,
    ClipRequest,
    InvalidClipRequest,
    KeyframeDrawing,
    RenderedClip,
)
from jobs import lifecycle
from jobs.dispatch import Step, send
from jobs.kinds import JobKind

from .models import Film, Scene, film_media_path
from .steps import fetch


def scene_prompt(scene: Scene, text: str | None = None) -> str:
    """What the clip backend is asked for: the shot (or ``text``, a keyframe's description),
    in the film's style."""
    text = scene.shot if text is None else text
    label, look = STYLES.get(scene.film.style, ("", ""))
    return f"{text} {label} style: {look}." if label else text


#: Photos the keyframe model draws a scene from (FLUX.2 [klein] takes up to three).
DRAWING_PHOTOS = 3


def cast_photos(scene: Scene, *, workdir: Path) -> list[Path]:
    """Up to ``DRAWING_PHOTOS`` of the scene's cast's photos, copied into ``workdir``: each
    character's first photo, then each one's second, and so on (the film's lead when the
    scene names no cast). Raises ``InvalidClipRequest`` when a character has no photo."""
    characters = list(scene.cast.order_by("pk")) or list(scene.film.cast.order_by("pk")[:1])
    albums = []
    for character in characters:
        images = character.ordered_images()
        if not images:
            raise InvalidClipRequest(f"“{character.name}” has no reference photos.")
        albums.append((character.pk, images))
    chosen = []
    for turn in range(DRAWING_PHOTOS):
        chosen += [(pk, turn, images[turn]) for pk, images in albums if turn < len(images)]
    return [
        fetch(image.image, workdir / f"cast-{pk}-{turn}.jpg")
        for pk, turn, image in chosen[:DRAWING_PHOTOS]
    ]


def previous_scene(scene: Scene) -> Scene | None:
    """The scene before ``scene`` in its film, or None for the first."""
    return (
        Scene.objects.filter(film_id=scene.film_id, position__lt=scene.position)
        .order_by("-position")
        .first()
    )


def drawn_keyframes(film: Film, *, continues: bool) -> int:
    """How many keyframes a local GPU draws before a scene's clip of ``film``: none unless the
    film draws its keyframes; then the opening and closing frames, or only the closing one
    where the scene ``continues`` the previous clip (a chained film's scenes after the first)."""
    if not film.draw_keyframes:
        return 0
    return 1 if continues else 2


def clip_request(scene: Scene, *, workdir: Path, for_provider: bool) -> ClipRequest:
    """The clip ``scene`` asks for: it opens on the previous scene's actual last frame when the
    film chains scenes (else on its own first keyframe) and closes on its last keyframe. When
    the film draws its keyframes on the GPU, a local render draws those keyframes from the
    cast's photos (``KeyframeDrawing``, seeded by the keyframe seed) instead. Raises
    ``InvalidClipRequest`` when a keyframe, a character's photo or the previous clip's last
    frame is missing."""
    film = scene.film
    if not scene.first_keyframe or not scene.last_keyframe:
        raise InvalidClipRequest(f"Scene {scene.number} has no keyframes yet.")
    drawn = film.draw_keyframes and not for_provider
    previous = previous_scene(scene) if film.chaining else None
    opening: Path | None = None
    if previous is not None:
        if not previous.clip_last_frame:
            raise InvalidClipRequest(f"Scene {previous.number} has no clip to continue from.")
        opening = fetch(previous.clip_last_frame, workdir / "previous-last-frame.jpg")
    elif not drawn:
        opening = fetch(scene.first_keyframe, workdir / "first-keyframe.jpg")
    # Drawn keyframes take the storyboard's place: nothing of it to fetch.
    closing = None if drawn else fetch(scene.last_keyframe, workdir / "last-keyframe.jpg")
    references = [] if for_provider else [p for p in (opening, closing) if p]
    drawing = None
    if drawn:
        references = cast_photos(scene, workdir=workdir)
        drawing = KeyframeDrawing(
            # A chained scene opens where the one before ended: only its close is drawn.
            opening="" if previous is not None else scene_prompt(scene, scene.first_frame_text),
            closing=scene_prompt(scene, scene.last_frame_text),
            seed=scene.keyframe_seed,
        )
    return ClipRequest(
        prompt=scene_prompt(scene),
        seed=scene.clip_seed,
        reference_images=references,
        duration_seconds=scene.clip_seconds or scene.planned_seconds,
        aspect_ratio=film.aspect_ratio,
        first_frame=opening,
        last_frame=closing,
        scene=True,
        drawing=drawing,
        body=None if for_provider else _body_to_make(scene),
    )


def _body_to_make(scene: Scene) -> BodyPiece | None:
    from generation.registry import UnknownBackend, get_backend

    from .assembling import body_to_make

    try:
        backend = get_backend(scene.film.backend, offered_only=False)
    except UnknownBackend:
        return None
    return body_to_make(scene, backend)


def store_clip(scene: Scene, *, clip: RenderedClip, cost_usd: Decimal | None) -> bool:
    """Save the scene's clip, its last frame and its thumbnail (and the keyframes the GPU drew
    for it, in place of the framed photos), and mark the scene succeeded with the key it was
    rendered for; files saved for a scene cancelled meanwhile are deleted again.
    ``cost_usd`` is the actual cost (None: free). A body made with the clip
    (``ClipRequest.body``) is stored among the film's pieces."""
    from .assembling import store_body

    film_id = scene.film.public_id
    # The body made with the clip is stored first: by the time the clip is, nothing of the
    # scene is left for the assembly to encode.
    body = (
        store_body(scene.film, clip.body, clip.body_path)
        if clip.body is not None and clip.body_path is not None
        else ""
    )
    names = {}
    drawn = [(f"{which}_keyframe", path) for which, path in clip.drawn_keyframes.items()]
    for field, path in (
        ("clip", clip.video_path),
        ("clip_last_frame", clip.last_frame_path),
        ("thumbnail", clip.poster_path),
        *drawn,
    ):
        with path.open("rb") as data:
            names[field] = default_storage.save(
                film_media_path(film_id, f"scene-{scene.number}-{path.name}"), File(data)
            )
    old = [getattr(scene, field).name for field in names]
    digest = hashlib.sha256(clip.last_frame_path.read_bytes()).hexdigest()
    finished = lifecycle.finish(
        scene,
        clip_seconds=clip.duration_seconds,
        clip_copyable=bool(clip.metadata.get("assembly_copyable")),
        clip_key=scene.pending_clip_key,
        last_frame_digest=digest,
        cost_usd=Decimal("0") if cost_usd is None else cost_usd,
        **names,
    )
    for name in [*names.values(), body] if not finished else old:
        if name:
            default_storage.delete(name)
    return finished


def owned_scenes(user: Any) -> QuerySet[Scene]:
    """The scenes ``user`` may follow on the live feed: those of their own films."""
    return Scene.objects.filter(owner=user)


def owned_films(user: Any) -> QuerySet[Film]:
    """The films ``user`` may follow on the live feed: their own."""
    return Film.objects.filter(owner=user)


def scene_settled(scene: Scene) -> None:
    """A scene's clip succeeded, failed or was cancelled: its film moves on."""
    send(Step("advance_film", (scene.film_id,)))


def _no_clip(job: Any, **_: Any) -> Any:
    raise InvalidClipRequest("A film is assembled, not rendered as one clip.")


SCENE_KIND = JobKind(
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
    clip_request=_no_clip,
    store_clip=_no_clip,
    owned=owned_films,
    queue="media",
)
