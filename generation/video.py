"""The video-clip backend interface that the animatic, the cloud and (later) GPU backends share.

A backend either renders in the worker (``render``) or, for a provider's async job
(``is_async``), starts an invocation, is polled for it and hands over its output; see
``generation.bedrock.AsyncInvocationBackend``. Both declare what they accept in
``BackendCapabilities`` so forms offer only valid choices and ``validate`` refuses a request
before anything is billed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
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


class InvalidClipRequest(ValueError):
    """The request is outside what the backend accepts; ``message`` says why, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class BackendCapabilities:
    """What a backend accepts, so forms offer only valid choices and services validate early.

    Durations are in seconds; ``max_prompt_chars`` counts Unicode characters (the limit of
    the shortest duration; ``VideoBackend.prompt_limit`` may allow more for longer ones).
    ``aspect_ratios`` are "W:H" strings, the first being the default. ``first_frame_durations``
    are the durations for which the character's photo can open the clip.
    """

    durations_seconds: tuple[float, ...] = (6.0,)
    max_prompt_chars: int = 512
    min_reference_images: int = 1
    max_reference_images: int = 3
    width: int = 1280
    height: int = 720
    fps: int = 24
    aspect_ratios: tuple[str, ...] = ("16:9",)
    first_frame_durations: tuple[float, ...] = ()


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
    aspect_ratio: str = "16:9"
    #: Open the clip with the first reference image (backends that support it).
    first_frame: bool = False


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
    #: True for a provider's async job (start, poll, fetch) rather than a render in the worker.
    is_async: bool = False
    #: Price of one second of finished video, in USD.
    usd_per_second: Decimal = Decimal("0")
    #: How long a job usually takes, in seconds of wall-clock time per second of video; only
    #: used to estimate progress where the provider reports none.
    typical_seconds_per_video_second: float = 1.0

    def is_configured(self) -> bool:
        """Whether the settings name everything this backend needs (no network call)."""
        return True

    def prompt_limit(self, duration_seconds: float) -> int:
        """The longest prompt, in characters, accepted for a clip of ``duration_seconds``."""
        return self.capabilities.max_prompt_chars

    def estimate_cost_usd(self, duration_seconds: float) -> Decimal:
        """The provider's price for ``duration_seconds`` of video, in USD, to the cent."""
        cost = self.usd_per_second * Decimal(str(duration_seconds))
        return cost.quantize(Decimal("0.01"))

    def validate(self, request: ClipRequest) -> None:
        """Refuse a request this backend cannot take, before anything is stored or billed.

        Checks the prompt (1..``prompt_limit`` characters), the duration and the aspect ratio
        against ``capabilities``. Raises ``InvalidClipRequest`` with a message for the user.
        """
        caps = self.capabilities
        prompt = request.prompt.strip()
        if not prompt:
            raise InvalidClipRequest("Write a prompt: what should the character do?")
        if request.duration_seconds not in caps.durations_seconds:
            offered = ", ".join(f"{d:g}" for d in caps.durations_seconds)
            raise InvalidClipRequest(
                f"{self.label} makes clips of {offered} seconds, not {request.duration_seconds:g}."
            )
        limit = self.prompt_limit(request.duration_seconds)
        if len(prompt) > limit:
            raise InvalidClipRequest(
                f"The prompt is {len(prompt)} characters; {self.label} accepts at most "
                f"{limit} for a {request.duration_seconds:g} s clip."
            )
        if request.aspect_ratio not in caps.aspect_ratios:
            raise InvalidClipRequest(
                f"{self.label} makes {', '.join(caps.aspect_ratios)} video, "
                f"not {request.aspect_ratio}."
            )

    @abstractmethod
    def render(
        self, request: ClipRequest, *, workdir: Path, progress: ProgressCallback
    ) -> RenderedClip:
        """Render ``request`` into files under ``workdir``.

        Raises ``RenderError`` for failures the user should read and ``RenderCanceled`` when
        ``progress`` raised it. Files left in ``workdir`` are the caller's to remove.
        """
