"""Opening frames for cloud video models: a reference photo cover-cropped to an exact size."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps

from .video import InvalidClipRequest


def cover_crop(path: Path, *, width: int, height: int, image_format: str = "PNG") -> bytes:
    """The image at ``path`` scaled to cover ``width``×``height`` pixels, centre-cropped to
    exactly that size, as 8-bit RGB ``image_format`` ("PNG" or "JPEG") bytes.

    Nova Reel's image-to-video accepts only 1280×720, 8-bit RGB PNG or JPEG (Amazon Nova user
    guide, "Image-to-video"), so nothing here may change those properties. Raises
    ``InvalidClipRequest`` when the file cannot be read as an image.
    """
    try:
        with Image.open(path) as source:
            rgb = source.convert("RGB")
    except OSError as error:
        raise InvalidClipRequest(f"The character's photo could not be read: {error}") from error
    framed = ImageOps.fit(rgb, (width, height), method=Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if image_format == "JPEG":
        framed.save(buffer, "JPEG", quality=95)
    else:
        framed.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


def check_keyframe(data: bytes, *, width: int, height: int) -> None:
    """Refuse keyframe bytes that are not ``width``×``height`` 8-bit RGB PNG or JPEG, or a
    PNG whose alpha channel is not fully opaque. Raises ``InvalidClipRequest``."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format, mode, size = image.format, image.mode, image.size
            if mode in ("RGBA", "LA") and image.getchannel("A").getextrema()[0] < 255:
                raise InvalidClipRequest("The opening image has transparent pixels.")
    except OSError as error:
        raise InvalidClipRequest(f"The opening image cannot be read: {error}") from error
    if image_format not in ("PNG", "JPEG"):
        raise InvalidClipRequest(f"The opening image must be PNG or JPEG, not {image_format}.")
    if size != (width, height):
        raise InvalidClipRequest(
            f"The opening image must be exactly {width}×{height} pixels, not {size[0]}×{size[1]}."
        )
    if mode not in ("RGB", "RGBA"):
        raise InvalidClipRequest(f"The opening image must be 8-bit RGB, not {mode}.")
