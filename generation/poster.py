"""A film's poster, offline: its title set over its best keyframe (the sharpest), the way a
movie poster sets the title over a still."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from .text import TextSetter


def sharpness(path: Path) -> float:
    """How much fine detail an image has: the variance of its edges (higher is sharper)."""
    with Image.open(path) as image:
        grey = ImageOps.grayscale(image).resize((320, 180))
    return float(np.asarray(grey.filter(ImageFilter.FIND_EDGES), dtype=np.float32).var())


#: Where a poster's title ends, as a share of the height from the top.
TITLE_BOTTOM = 0.66


def title_card(keyframe: Path, *, title: str, width: int, height: int) -> Image.Image:
    """``keyframe`` cover-cropped to ``width``×``height`` with ``title`` (any script) centred
    over a dark gradient, its last line ending ``TITLE_BOTTOM`` of the way down: above the
    bottom third, where a player draws its controls over the poster (at 390 px wide they cover
    the bottom quarter, and the title sat under them). An 8-bit RGB image."""
    with Image.open(keyframe) as image:
        canvas = ImageOps.fit(image.convert("RGB"), (width, height)).convert("RGBA")
    shade = np.linspace(0, 200, height // 2, dtype=np.float32)[:, None].repeat(width, axis=1)
    layer = Image.new("RGBA", (width, height // 2), (0, 0, 0, 0))
    layer.putalpha(Image.fromarray(shade.astype(np.uint8)))
    canvas.alpha_composite(layer, (0, height - height // 2))
    setter = TextSetter(size=max(16, round(height / 11)))
    lines = setter.wrap(title, max_width=round(width * 0.86), max_lines=2)
    line_height = round(height / 11 * 1.3)
    top = round(height * TITLE_BOTTOM) - line_height * len(lines)
    for row, line in enumerate(lines):
        text = setter.line_image(line)
        canvas.alpha_composite(text, ((width - text.width) // 2, top + row * line_height))
    return canvas.convert("RGB")
