"""The visual styles a film can have, by name: what forms list (light; the looks themselves are
drawn by ``generation.looks`` in workers)."""

from __future__ import annotations

#: Style name → (label, what the look does).
STYLES: dict[str, tuple[str, str]] = {
    "natural": ("Natural", "true colours with a gentle, warm grade"),
    "film-noir": ("Film noir", "high-contrast black and white, grain and a dark vignette"),
    "watercolour": ("Watercolour", "soft washes of colour, pigment at the edges, paper texture"),
    "comic": ("Comic", "flat inked colours with halftone dots in the shadows"),
    "vintage": ("Vintage", "sepia tones, faded blacks, grain and a vignette"),
    "neon": ("Neon", "magenta shadows, cyan highlights and a glow"),
}
