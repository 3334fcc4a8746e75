"""How a dream becomes a clip request and keeps its clip: the hooks its job kind registers
with ``jobs.kinds`` (see ``DreamsConfig.ready``)."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import QuerySet

from characters.models import Character
from generation.video import ClipRequest, InvalidClipRequest, KeyframeDrawing, RenderedClip
from jobs import lifecycle
from jobs.kinds import ClipKind

from .models import Dream, dream_media_path


def copy_reference_images(
    character: Character, folder: Path, *, limit: int | None = None
) -> list[Path]:
    """Copy ``character``'s reference images (the first ``limit``, or all) from storage into
    ``folder``, in order; returns the local paths (``reference-0.jpg``, ...)."""
    paths = []
    for index, image in enumerate(character.ordered_images()[:limit]):
        path = folder / f"reference-{index}.jpg"
        with image.image.open("rb") as source, path.open("wb") as target:
            shutil.copyfileobj(source, target)
        paths.append(path)
    return paths


def clip_request(dream: Dream, *, workdir: Path, for_provider: bool) -> ClipRequest:
    """The clip ``dream`` asks for, its images copied into ``workdir``.

    A local render gets every reference image; a provider is sent only the opening image
    (the character's first photo, when ``dream.first_frame``), so only it is fetched. Raises
    ``InvalidClipRequest`` when the character was deleted.
    """
    if dream.character is None:
        raise InvalidClipRequest("The character of this dream was deleted.")
    if for_provider:
        images = (
            copy_reference_images(dream.character, workdir, limit=1) if dream.first_frame else []
        )
    else:
        images = copy_reference_images(dream.character, workdir)
    return ClipRequest(
        prompt=dream.prompt,
        seed=dream.seed,
        reference_images=[] if for_provider else images,
        duration_seconds=dream.requested_seconds,
        aspect_ratio=dream.aspect_ratio,
        first_frame=images[0] if dream.first_frame and images else None,
        drawing=KeyframeDrawing(opening=dream.prompt, seed=dream.seed)
        if dream.draw_first_frame and not for_provider
        else None,
    )


def store_clip(dream: Dream, *, clip: RenderedClip, cost_usd: Decimal | None) -> bool:
    """Save ``clip``'s video and poster and mark ``dream`` succeeded, unless it was cancelled
    or handed to another worker meanwhile (then the saved files are deleted again, so one
    video exists per dream). ``cost_usd`` is the actual cost (None: free)."""
    with clip.video_path.open("rb") as video, clip.poster_path.open("rb") as poster:
        video_name = default_storage.save(dream_media_path(dream, "video.mp4"), File(video))
        poster_name = default_storage.save(dream_media_path(dream, "poster.jpg"), File(poster))
    finished = lifecycle.finish(
        dream,
        video=video_name,
        poster=poster_name,
        duration_seconds=clip.duration_seconds,
        cost_usd=Decimal("0") if cost_usd is None else cost_usd,
    )
    if not finished:
        default_storage.delete(video_name)
        default_storage.delete(poster_name)
    return finished


def owned_dreams(user: Any) -> QuerySet[Dream]:
    """The dreams ``user`` may follow on the live feed: their own."""
    return Dream.objects.filter(owner=user)


DREAM_KIND = ClipKind(
    name="dream",
    model=Dream,
    render_actor="render_dream",
    clip_request=clip_request,
    store_clip=store_clip,
    owned=owned_dreams,
)
