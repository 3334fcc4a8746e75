"""Checking and normalising uploaded reference images.

An upload is trusted only after Pillow has decoded it: the file name and the browser's content
type are ignored. Accepted images are rotated upright from their EXIF orientation, converted to
8-bit sRGB RGB (transparency flattened onto white) and re-encoded as JPEG with no metadata at
all, so GPS positions and camera serials never reach storage.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from lib.errors import UserError

#: Largest accepted upload, in bytes (10 MiB).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: Largest accepted image, in pixels (width × height): 40 megapixels.
MAX_PIXELS = 40_000_000
#: Formats Pillow may decode; anything else is refused before decoding.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
#: Longest side of a thumbnail, in pixels.
THUMBNAIL_SIZE = 320
JPEG_QUALITY = 92


class ImageRejected(UserError):
    """An upload is not an acceptable reference image; ``message`` says why, naming the file."""


@dataclass(frozen=True)
class ProcessedImage:
    """A normalised reference image: JPEG bytes of the image and its thumbnail, size in pixels."""

    jpeg: bytes
    thumbnail_jpeg: bytes
    width: int
    height: int


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _open_checked(upload: IO[bytes], name: str) -> Image.Image:
    """Open the image header and refuse anything not worth decoding."""
    try:
        with warnings.catch_warnings():
            # Pillow warns (rather than fails) between 89 and 179 megapixels: fail instead.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload, formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(
            f"“{name}” has too many pixels: the limit is {MAX_PIXELS // 1_000_000} megapixels."
        ) from None
    except UnidentifiedImageError:
        raise ImageRejected(f"“{name}” is not a JPEG, PNG or WebP image.") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageRejected(
            f"“{name}” is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {MAX_PIXELS // 1_000_000} megapixels."
        )
    if getattr(image, "is_animated", False):
        raise ImageRejected(f"“{name}” is animated; upload a still photo.")
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert pixels described by an embedded ICC profile into sRGB."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=output_mode
        )
        return converted if converted is not None else image
    except (ImageCms.PyCMSError, OSError):
        # A broken profile is not worth refusing the photo over: treat it as sRGB.
        return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB, with any transparency composited onto white."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    # A fresh image carries no info dict, so no EXIF, ICC profile or comment is written.
    clean = Image.frombytes("RGB", image.size, image.tobytes())
    clean.save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def process_reference_image(upload: IO[bytes], *, name: str, size: int) -> ProcessedImage:
    """Check and normalise one uploaded photo.

    ``upload`` is a readable binary file, ``name`` the name the user gave it (for messages) and
    ``size`` its length in bytes. Returns the normalised image; raises ``ImageRejected`` for an
    empty file, a file over 10 MiB, a format other than JPEG/PNG/WebP, an animated image, more
    than 40 megapixels (checked from the header, before any pixel is decoded) or a damaged file.
    """
    if size == 0:
        raise ImageRejected(f"“{name}” is empty (0 bytes).")
    if size > MAX_UPLOAD_BYTES:
        raise ImageRejected(
            f"“{name}” is {_megabytes(size)}; the limit is {_megabytes(MAX_UPLOAD_BYTES)}."
        )
    upload.seek(0)
    image = _open_checked(upload, name)
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
        image = _to_rgb(_to_srgb(image))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ImageRejected(
            f"“{name}” is damaged or incomplete and could not be decoded."
        ) from None
    thumbnail = image.copy()
    thumbnail.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    return ProcessedImage(
        jpeg=_jpeg_bytes(image, JPEG_QUALITY),
        thumbnail_jpeg=_jpeg_bytes(thumbnail, 85),
        width=image.width,
        height=image.height,
    )


#: Longest side of a photo shown to a vision model, in pixels (Anthropic's advice: larger
#: images are scaled down by the model anyway, at the same cost).
VISION_LONGEST_SIDE = 1568


def vision_jpeg(jpeg: bytes) -> bytes:
    """A stored reference photo (JPEG bytes) at most ``VISION_LONGEST_SIDE`` pixels a side, as
    JPEG bytes to show a vision model (well under Bedrock's 3.75 MB an image)."""
    with Image.open(io.BytesIO(jpeg)) as image:
        image.thumbnail((VISION_LONGEST_SIDE, VISION_LONGEST_SIDE), Image.Resampling.LANCZOS)
        return _jpeg_bytes(image.convert("RGB"), 85)
