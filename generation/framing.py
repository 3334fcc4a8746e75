"""Offline keyframes: the cast's reference photos framed for a shot and composed together,
then graded in the film's visual style (``generation.looks``). Imported by workers only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from .looks import apply_look
from .video import InvalidClipRequest

#: Share of a photo's height a framing keeps, centred a little above the middle (where faces
#: are in most portraits): a wide shot keeps the whole photo over a blurred backdrop.
FRAMING_KEEP = {"wide": 1.0, "medium": 0.8, "close": 0.55}
#: Pixels over which two characters' panels blend into each other.
SEAM_FEATHER = 48


def _open(path: Path) -> Image.Image:
    try:
        with Image.open(path) as source:
            return ImageOps.exif_transpose(source).convert("RGB")
    except OSError as error:
        raise InvalidClipRequest(f"A reference photo could not be read: {error}") from error


def _panel(photo: Image.Image, *, framing: str, width: int, height: int) -> Image.Image:
    """``photo`` framed as ``framing`` in a ``width``×``height`` panel."""
    keep = FRAMING_KEEP[framing]
    if keep < 1.0:
        crop_h = photo.height * keep
        crop_w = min(photo.width, crop_h * width / height)
        crop_h = crop_w * height / width
        top = max(0.0, min(photo.height * 0.42 - crop_h / 2, photo.height - crop_h))
        left = (photo.width - crop_w) / 2
        photo = photo.crop((round(left), round(top), round(left + crop_w), round(top + crop_h)))
        return photo.resize((width, height), Image.Resampling.LANCZOS)
    # Wide: the whole photo, contained, over a blurred and darkened cover of itself.
    backdrop = ImageOps.fit(photo, (width, height), method=Image.Resampling.BILINEAR)
    backdrop = backdrop.filter(ImageFilter.GaussianBlur(radius=max(width, height) / 40))
    backdrop = Image.eval(backdrop, lambda value: int(value * 0.6))
    contained = ImageOps.contain(photo, (width, height), method=Image.Resampling.LANCZOS)
    backdrop.paste(contained, ((width - contained.width) // 2, (height - contained.height) // 2))
    return backdrop


def compose_keyframe(
    portraits: list[Path],
    *,
    framing: str,
    style: str,
    width: int,
    height: int,
    seed: int,
) -> Image.Image:
    """One keyframe, ``width``×``height`` 8-bit RGB: each photo in ``portraits`` (one per
    character in the shot, 1-3) framed as ``framing`` ("wide", "medium" or "close") in its own
    panel, panels side by side with feathered seams, graded in ``style``.

    Raises ``InvalidClipRequest`` when there is no photo or one cannot be read; ``KeyError``
    for an unknown framing or style.
    """
    if not portraits:
        raise InvalidClipRequest("A keyframe needs at least one character's photo.")
    photos = [_open(path) for path in portraits[:3]]
    count = len(photos)
    if count == 1:
        canvas = _panel(photos[0], framing=framing, width=width, height=height)
    else:
        # Panels overlap by the feather, so the blend has picture on both sides.
        panel_w = (width + SEAM_FEATHER * (count - 1)) // count
        canvas_array = np.zeros((height, width, 3), dtype=np.float32)
        weight = np.zeros((1, width, 1), dtype=np.float32)
        ramp = np.linspace(0.0, 1.0, SEAM_FEATHER, dtype=np.float32)
        for index, photo in enumerate(photos):
            panel = _panel(photo, framing=framing, width=panel_w, height=height)
            left = index * (panel_w - SEAM_FEATHER)
            right = min(left + panel_w, width)
            mask = np.ones(right - left, dtype=np.float32)
            if index > 0:
                mask[:SEAM_FEATHER] = ramp
            if index < count - 1:
                mask[-SEAM_FEATHER:] = ramp[::-1]
            pixels = np.asarray(panel, dtype=np.float32)[:, : right - left]
            canvas_array[:, left:right] += pixels * mask[None, :, None]
            weight[0, left:right, 0] += mask
        canvas_array /= np.maximum(weight, 1e-6)
        canvas = Image.fromarray(np.clip(canvas_array, 0, 255).astype(np.uint8))
    return apply_look(canvas, style=style, seed=seed)
