"""The video-clip backend interface that the animatic (and later cloud and GPU) backends share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: Called by a backend as it works: ``progress(stage, fraction)`` with ``fraction`` in [0, 1]
#: of the whole job. It may raise ``RenderCanceled`` to stop the backend.
ProgressCallback = Callable[[str, float], None]


class RenderError(Exception):
    """A render failed for a reason the user should read.

    ``stage`` names the stage that failed ("preparing", "rendering", "finishing"); the message
    says why in plain words.
    """

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message


class RenderCanceled(Exception):
    """The job was cancelled while the backend worked; nothing it produced may be kept."""


@dataclass(frozen=True)
class BackendCapabilities:
    """What a backend accepts, so forms offer only valid choices and services validate early.

    Durations are in seconds; ``max_prompt_chars`` counts Unicode characters.
    """

    durations_seconds: tuple[float, ...] = (6.0,)
    max_prompt_chars: int = 512
    min_reference_images: int = 1
    max_reference_images: int = 3
    width: int = 1280
    height: int = 720
    fps: int = 24


@dataclass(frozen=True)
class ClipRequest:
    """One clip to render.

    ``reference_images`` are local paths of the character's reference images (8-bit sRGB
    JPEG, as ``characters.images`` stores them), in the character's order.
    """

    prompt: str
    reference_images: list[Path]
    seed: int
    duration_seconds: float = 6.0


@dataclass(frozen=True)
class RenderedClip:
    """A finished clip: an MP4 file and a JPEG poster frame, both local paths."""

    video_path: Path
    poster_path: Path
    duration_seconds: float
    metadata: dict = field(default_factory=dict)


class VideoBackend(ABC):
    """A way of turning a ``ClipRequest`` into a ``RenderedClip``."""

    #: Stable identifier stored on each dream ("animatic").
    name: str = ""
    #: What the form shows the user.
    label: str = ""
    capabilities: BackendCapabilities = BackendCapabilities()

    def is_configured(self) -> bool:
        """Whether this backend can run with the current settings."""
        return True

    @abstractmethod
    def render(
        self, request: ClipRequest, *, workdir: Path, progress: ProgressCallback
    ) -> RenderedClip:
        """Render ``request`` into files under ``workdir``.

        Raises ``RenderError`` for failures the user should read and ``RenderCanceled`` when
        ``progress`` raised it. Files left in ``workdir`` are the caller's to remove.
        """
