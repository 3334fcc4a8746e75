"""A film's visual style as a look applied to a keyframe: a colour grade, grain, vignette,
halftone, painterly smoothing or monochrome, drawn with Pillow, NumPy and OpenCV.

Imported by workers only (OpenCV); the style names and labels live in ``generation.styles``.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from .styles import STYLES


def _vignette(height: int, width: int, strength: float) -> np.ndarray:
    """A (h, w, 1) float mask, 1 in the centre falling to ``1 - strength`` in the corners."""
    y = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    radius = np.sqrt(x * x + y * y) / np.sqrt(2.0)
    mask: np.ndarray = (1.0 - strength * radius**2)[:, :, None]
    return mask


def _grain(shape: tuple[int, ...], amount: float, rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0.0, amount, shape[:2]).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 0.7)[:, :, None]


def _luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[:, :, None]


def _noir(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    grey = _luma(rgb)
    # A steep S-curve: deep blacks, bright highlights.
    contrast = 1.0 / (1.0 + np.exp(-9.0 * (grey - 0.5)))
    out: np.ndarray = np.repeat(contrast, 3, axis=2) + _grain(rgb.shape, 0.05, rng)
    dark: np.ndarray = out * _vignette(rgb.shape[0], rgb.shape[1], 0.75)
    return dark


def _low_noise(shape: tuple[int, ...], cell: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth noise, about 1 in amplitude, varying over ``cell`` pixels: an (h, w) array."""
    height, width = shape[:2]
    grid = rng.normal(0.0, 1.0, (height // cell + 2, width // cell + 2)).astype(np.float32)
    big = cv2.resize(grid, (width + 2 * cell, height + 2 * cell), interpolation=cv2.INTER_CUBIC)
    return big[cell : cell + height, cell : cell + width]


def _watercolour(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Transparent washes on paper, after Bousseau et al., "Interactive watercolor rendering
    with temporal coherence and abstraction" (NPAR 2006): the picture abstracted into flat
    washes (OpenCV's edge-preserving ``stylization``, Gastal and Oliveira's domain transform),
    their edges wobbled, then the pigment's density varied by edge darkening, turbulent flow,
    pigment dispersion and the paper's grain, applied with the paper's colour-darkening
    formula C' = C - (C - C²)(d - 1)."""
    height, width = rgb.shape[:2]
    scale = width / 1280
    image = (rgb * 255).astype(np.uint8)
    # Washes are flat, so they are found at half size over 640 pixels wide (five times faster
    # at 1280×720) and brought back up.
    shrink = 2 if width > 640 else 1
    small = cv2.resize(image, (width // shrink, height // shrink), interpolation=cv2.INTER_AREA)
    washes = cv2.stylization(small, sigma_s=60 * max(scale, 0.3) / shrink, sigma_r=0.6)
    washes = cv2.resize(washes, (width, height), interpolation=cv2.INTER_LINEAR)
    # Wobbling: a wash's edge is never where the photo's is.
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    amplitude, cell = 4.0 * max(scale, 0.4), max(8, round(48 * scale))
    washes = cv2.remap(
        washes, xx + amplitude * _low_noise(rgb.shape, cell, rng),
        yy + amplitude * _low_noise(rgb.shape, cell, rng), cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )  # fmt: skip
    colour = washes.astype(np.float32) / 255
    # Pigment is transparent: lighter and a little less saturated than the photo, and wet
    # colour bleeds a few pixels.
    grey = colour.mean(axis=2, keepdims=True)
    colour = 1.0 - 0.72 * (1.0 - (grey + 0.8 * (colour - grey)))
    colour = 0.55 * colour + 0.45 * cv2.GaussianBlur(colour, (0, 0), 3.0 * max(scale, 0.4))
    luma = cv2.cvtColor(washes, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    slope = np.hypot(
        cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3)
    )
    edges = cv2.GaussianBlur(np.clip(slope * 1.5, 0, 1), (0, 0), 3.0 * max(scale, 0.5))
    turbulence = _low_noise(rgb.shape, max(6, round(90 * scale)), rng)
    dispersion = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 1.5)
    fibres = rng.normal(0, 1, (height, width)).astype(np.float32)
    paper = cv2.GaussianBlur(fibres, (0, 0), 1.0) - cv2.GaussianBlur(fibres, (0, 0), 4.0)
    density = (1.0 + 0.35 * edges + 0.2 * turbulence + 0.08 * dispersion + 0.4 * paper)[:, :, None]
    out: np.ndarray = colour - (colour - colour**2) * (density - 1.0)
    on_paper: np.ndarray = out * np.array([1.0, 0.985, 0.95], dtype=np.float32)
    return on_paper


def _comic(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    image = (rgb * 255).astype(np.uint8)
    flat = cv2.bilateralFilter(image, 9, 80, 9)
    levels = (flat.astype(np.int32) // 64) * 64 + 32
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    ink = cv2.adaptiveThreshold(
        cv2.medianBlur(grey, 5), 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 4
    )
    out = levels.astype(np.float32) / 255 * (ink[:, :, None] / 255.0)
    # Halftone dots in the shadows, on a 6-pixel grid.
    height, width = grey.shape
    yy, xx = np.mgrid[0:height, 0:width]
    dots = ((xx % 6 - 3) ** 2 + (yy % 6 - 3) ** 2) < 4
    shadow = (_luma(rgb)[:, :, 0] < 0.35) & dots
    out[shadow] *= 0.55
    saturated: np.ndarray = np.clip((out - 0.5) * 1.15 + 0.5, 0, 1)
    return saturated


def _vintage(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sepia = np.array(
        [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], dtype=np.float32
    )
    toned = np.clip(rgb @ sepia.T, 0, 1)
    mixed = 0.7 * toned + 0.3 * rgb
    faded = mixed * 0.82 + 0.08  # lifted blacks, dimmed whites
    aged: np.ndarray = (faded + _grain(rgb.shape, 0.04, rng)) * _vignette(
        rgb.shape[0], rgb.shape[1], 0.55
    )
    return aged


def _neon(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    grey = _luma(rgb)
    # Shadows to deep magenta-blue, highlights to cyan.
    shadows = np.array([0.35, 0.02, 0.45], dtype=np.float32)
    highlights = np.array([0.2, 1.0, 0.95], dtype=np.float32)
    graded = shadows * (1 - grey) + highlights * grey
    out = 0.6 * graded + 0.4 * rgb
    glow = cv2.GaussianBlur(np.clip(out - 0.6, 0, 1), (0, 0), 12)
    lit: np.ndarray = (out + 0.8 * glow) * _vignette(rgb.shape[0], rgb.shape[1], 0.5)
    return lit


def _natural(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # A gentle contrast and warmth, as a colourist's neutral grade.
    warm = rgb * np.array([1.03, 1.0, 0.97], dtype=np.float32)
    graded: np.ndarray = (warm - 0.5) * 1.06 + 0.5
    return graded


_LOOKS = {
    "natural": _natural,
    "film-noir": _noir,
    "watercolour": _watercolour,
    "comic": _comic,
    "vintage": _vintage,
    "neon": _neon,
}
assert set(_LOOKS) == set(STYLES), "every style has a look"


def apply_look(image: Image.Image, *, style: str, seed: int) -> Image.Image:
    """``image`` (any mode) in ``style`` (a key of ``generation.styles.STYLES``): an 8-bit
    RGB image of the same size. The grain is seeded, so the same seed gives the same pixels.
    Raises ``KeyError`` for an unknown style."""
    look = _LOOKS[style]
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    out = look(rgb, np.random.default_rng(seed))
    return Image.fromarray((np.clip(out, 0.0, 1.0) * 255 + 0.5).astype(np.uint8))
