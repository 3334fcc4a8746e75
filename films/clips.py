"""Step: a scene's clip, rendered as a scene job through the same clip path as a dream
(``jobs.render`` for a local backend, ``jobs.cloud`` for a provider); the hooks its job kind
registers (``films.kinds``) build its request and keep its clip. Fresh while ``clip_key``
holds and the scene succeeded; ``queue_clip`` asks for a stale one."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage

from generation.registry import UnknownBackend, get_backend
from generation.styles import STYLES
from generation.video import (
    BodyPiece,
    ClipBackend,
    ClipInvocationBackend,
    ClipRenderer,
    ClipRequest,
    InvalidClipRequest,
    KeyframeDrawing,
    RenderedClip,
)
from jobs import ledger, lifecycle
from jobs.dispatch import send_next
from jobs.invocations import current_invocation, new_invocation
from jobs.models import IDLE_STATUSES, JobStatus

from .errors import StepError
from .files import fetch
from .keyframes import keyframes_fresh
from .keys import input_key
from .models import Film, Scene, film_media_path
from .narration import narration_fresh, scene_length
from .pieces import body_to_make, store_body

#: Photos the keyframe model draws a scene from (FLUX.2 [klein] takes up to three).
DRAWING_PHOTOS = 3


def scene_prompt(scene: Scene, text: str | None = None) -> str:
    """What the clip backend is asked for: the shot (or ``text``, a keyframe's description),
    in the film's style."""
    text = scene.shot if text is None else text
    label, look = STYLES.get(scene.film.style, ("", ""))
    return f"{text} {label} style: {look}." if label else text


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


def clip_key(scene: Scene, *, previous: Scene | None) -> str:
    """Inputs of a scene's clip: its keyframes, shot, narration (which sets its length),
    the film's backend and the clip seed, whether the GPU draws the keyframes, and, when the
    film chains scenes, the previous scene's last frame (by content, so a redone scene that
    ends the same changes nothing)."""
    film = scene.film
    opening = previous.last_frame_digest if film.chaining and previous is not None else ""
    return input_key(
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


def clip_fresh(scene: Scene, *, previous: Scene | None) -> bool:
    """Whether the scene's clip is made, it succeeded, and none of its inputs changed since:
    its keyframes and narration are fresh and its key is the one they give now (``previous``
    is the scene before it, for a chained film's opening frame)."""
    if not scene.clip or scene.status != JobStatus.SUCCEEDED:
        return False
    if not (keyframes_fresh(scene) and narration_fresh(scene)):
        return False
    return scene.clip_key == clip_key(scene, previous=previous)


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
    try:
        backend = get_backend(scene.film.backend, offered_only=False)
    except UnknownBackend:
        return None
    return body_to_make(scene, backend)


def store_clip(scene: Scene, *, clip: RenderedClip, cost_usd: Decimal | None) -> bool:
    """Save the scene's clip, its last frame and its thumbnail (and the keyframes the GPU drew
    for it, in place of the framed photos), and mark the scene succeeded with the key it was
    rendered for; files saved for a scene cancelled meanwhile are deleted again.
    ``cost_usd`` is the actual cost in USD (None: free). A body made with the clip
    (``ClipRequest.body``) is stored among the film's pieces."""
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
                film_media_path(film_id, f"{_take_prefix(scene)}{path.name}"), File(data)
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


def _take_prefix(scene: Scene) -> str:
    # By the scene's lasting id, not its number, which a move changes. A take killed before
    # the scene was marked is removed by the film's next cut (files.remove_unnamed_files).
    return f"take-{scene.public_id.hex}-"


def queue_clip(film: Film, scene: Scene, *, key: str, backend: ClipBackend) -> None:
    """Queue ``scene``'s clip for inputs ``key`` (a paid scene gets its invocation, or a GPU
    scene its GPU-seconds, made when the film was rendered or now), unless it is queued or
    rendering already. Raises ``StepError`` when its narration is too long for one clip."""
    seconds = scene_length(scene, backend)
    if seconds is None:
        raise StepError(
            f"the clip of scene {scene.number}",
            "Its narration is too long for one clip on this backend.",
        )
    if not lifecycle.requeue(
        scene, stage="waiting for a worker", from_statuses=IDLE_STATUSES,
        pending_clip_key=key, clip_seconds=seconds, backend=film.backend,
        # A new take: the sweeper counts the attempts of this one only.
        attempts=0,
    ):  # fmt: skip
        return
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
