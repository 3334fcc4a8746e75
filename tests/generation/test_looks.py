"""A film's visual styles as a viewer tells them apart, drawn on the real fixture photos."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from generation.framing import compose_keyframe

PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "images"


def _colours(image: Image.Image) -> int:
    """Distinct colours at 16 levels a channel."""
    levels = (np.asarray(image) // 16).astype(int).reshape(-1, 3)
    return len(np.unique(levels[:, 0] * 256 + levels[:, 1] * 16 + levels[:, 2]))


def _grain(image: Image.Image) -> float:
    """Mean detail at the scale of one or two pixels (a paper's grain, a photo's texture)."""
    grey = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(
        np.abs(cv2.GaussianBlur(grey, (0, 0), 0.5) - cv2.GaussianBlur(grey, (0, 0), 1.5)).mean()
    )


@pytest.mark.parametrize(
    "photos",
    [("astronaut.png", "chelsea.png"), ("coffee.png",), ("rocket.jpg",), ("chelsea.png",)],
)
def test_watercolour_is_washes_on_paper_not_a_soft_focus_photo(photos):
    """The watercolour style looked like a soft-focus photo: smoothed, its photo's shades all
    kept, its fine texture blurred away. A watercolour lays the picture down in a few flat
    washes (under a third of the photo's colours; the soft focus kept 37-55 %) on paper whose
    grain shows through (fine detail at least 0.88 of the photo's; the soft focus lost it)."""
    paths = [PHOTOS / name for name in photos]
    photo = compose_keyframe(
        paths, framing="medium", style="natural", width=1280, height=720, seed=1
    )
    painted = compose_keyframe(
        paths, framing="medium", style="watercolour", width=1280, height=720, seed=1
    )
    assert _colours(painted) < 0.34 * _colours(photo)
    assert _grain(painted) > 0.88 * _grain(photo)
    # Transparent pigment: lighter than the photo.
    assert np.asarray(painted).mean() > np.asarray(photo).mean() + 5
