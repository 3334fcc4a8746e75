"""The video-clip backend interface that the animatic, the cloud and (later) GPU backends share.

Backends come in two kinds, by how they run:

- a ``ClipRenderer`` renders in the worker that holds the job (``render``), on its ``queue``
  (``media`` for CPU and ffmpeg work, ``gpu`` for a local model);
- a ``ClipInvocationBackend`` hands the clip to a provider as an *invocation*: ``start`` it,
  ``check`` it in short polls from the ``cloud`` queue, then ``download_output``.

Both declare what they accept in ``BackendCapabilities`` so forms offer only valid choices, and
``validate`` refuses a request before anything is stored or billed. Modules that declare a
backend import nothing heavy (moviepy, OpenCV, torch) at module level: the web process reads
their capabilities, and only a worker renders.
"""

from __future__ import annotations

import unicodedata
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

#: Called by a backend as it works: ``progress(stage, fraction)`` with ``fraction`` in [0, 1]
#: of the whole job. It may raise ``RenderCanceled`` to stop the backend.
ProgressCallback = Callable[[str, float], None]

#: Statuses an invocation can report (``InvocationState.status``).
IN_PROGRESS, COMPLETED, FAILED = "InProgress", "Completed", "Failed"


def visible_text(text: str) -> str:
    """``text`` without control characters (newlines and tabs kept), stripped, or "" when no
    character in it would show: spaces, zero-width and other format characters alone (Unicode
    categories Cc, Cf, Z*) are no prompt."""
    kept = "".join(
        char for char in text if char in "\n\t" or unicodedata.category(char) != "Cc"
    ).strip()
    if all(unicodedata.category(char)[0] in "CZ" for char in kept):
        return ""
    return kept


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
    the shortest duration; ``ClipBackend.prompt_limit`` may allow more for longer ones).
    ``aspect_ratios`` are "W:H" strings, the first being the default. ``first_frame_durations``
    are the durations for which an image can open the clip; ``takes_last_frame`` says whether
    an image can also close it (on Bedrock only Luma Ray2's ``frame1``). ``scene_seconds``
    (shortest, longest) is set by a renderer that makes a film scene of any length in that
    range, so a scene lasts exactly as long as its narration needs; other backends round a
    scene up to one of ``durations_seconds``.
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
    takes_last_frame: bool = False
    scene_seconds: tuple[float, float] | None = None


@dataclass(frozen=True)
class ClipRequest:
    """One clip to render.

    ``reference_images`` are local paths of the character's reference images (8-bit sRGB
    JPEG, as ``characters.images`` stores them), in the character's order; a renderer that
    composes its own shots (the animatic) draws on them. ``first_frame`` and ``last_frame``
    are local image paths the clip should open and close on, or None: a backend uses each
    only where its capabilities say it can. ``scene`` marks a film's scene: the clip opens
    exactly on ``first_frame`` and closes on ``last_frame`` where the backend can, and draws
    no fades or captions of its own (the film's assembly makes transitions and subtitles).
    ``drawing`` asks a local GPU backend to draw the clip's keyframes first (``KeyframeDrawing``).
    ``body`` asks a backend that encodes for the assembly (``makes_assembly_pieces``) to make a
    film scene's body with its burnt-in lines alongside the clip (``BodyPiece``).
    """

    prompt: str
    seed: int
    reference_images: list[Path] = field(default_factory=list)
    duration_seconds: float = 6.0
    aspect_ratio: str = "16:9"
    first_frame: Path | None = None
    last_frame: Path | None = None
    scene: bool = False
    drawing: KeyframeDrawing | None = None
    body: BodyPiece | None = None


@dataclass(frozen=True)
class BodyPiece:
    """A film scene's body made with its clip, so that nothing of it is left to encode once
    the clip is in: frames ``first`` up to (not including) ``end`` of the clip, with
    ``subtitles`` (SubRip on the body's own clock, from 0) drawn in, encoded with the
    assembly's settings (``assembly.video_encode``). ``key`` is the name the film's assembly
    knows it by (``films.pieces.piece_key``)."""

    first: int
    end: int
    subtitles: str
    key: str


@dataclass(frozen=True)
class KeyframeDrawing:
    """Keyframes a local GPU backend draws with the GPU keyframe model
    (``generation.gpu.keyframes``) before its clip, from the request's ``reference_images`` (the
    characters' photos), at the clip's size. ``opening`` and ``closing`` say what each frame
    shows (a prompt); "" leaves that frame as the request gives it. ``seed`` draws the opening
    frame, ``seed + 1`` the closing one."""

    opening: str = ""
    closing: str = ""
    seed: int = 0


@dataclass(frozen=True)
class RenderedClip:
    """A finished clip, all local paths: the MP4, a JPEG poster frame, and a JPEG of its very
    last frame (what a chained scene opens on). ``duration_seconds`` is the clip's length.
    ``drawn_keyframes`` holds the PNGs a ``KeyframeDrawing`` drew, by "first" and "last";
    ``body_path`` the MP4 of the request's ``body`` when the backend made it."""

    video_path: Path
    poster_path: Path
    last_frame_path: Path
    duration_seconds: float
    metadata: dict[str, Any] = field(default_factory=dict)
    drawn_keyframes: dict[str, Path] = field(default_factory=dict)
    body: BodyPiece | None = None
    body_path: Path | None = None


class ClipBackend:
    """What every clip backend declares: its name, what it accepts, and what it costs."""

    #: Stable identifier stored on each job ("animatic").
    name: ClassVar[str] = ""
    #: What the form shows the user.
    label: ClassVar[str] = ""
    #: The Dramatiq queue its work runs on (DESIGN.md, "queues by resource").
    queue: ClassVar[str] = "media"
    capabilities: BackendCapabilities = BackendCapabilities()
    #: Price of one second of finished video, in USD.
    usd_per_second: Decimal = Decimal("0")
    #: Whether a film scene's clip is encoded with the assembly's settings, so its body is
    #: copied and, with burnt-in subtitles, made alongside the clip (``ClipRequest.body``).
    makes_assembly_pieces: ClassVar[bool] = False

    def is_configured(self) -> bool:
        """Whether the settings name everything this backend needs (no network call)."""
        return True

    def drawing_problem(self) -> str | None:
        """Why a clip on this backend cannot open or close on keyframes drawn from the
        photos now, or None when it can (only a local GPU backend with the keyframe model
        ready draws them)."""
        return "Only a local GPU backend draws keyframes; choose one, or use the photos."

    def prompt_limit(self, duration_seconds: float) -> int:
        """The longest prompt, in characters, accepted for a clip of ``duration_seconds``."""
        return self.capabilities.max_prompt_chars

    def estimate_cost_usd(self, duration_seconds: float, *, drawn_keyframes: int = 0) -> Decimal:
        """The provider's price for ``duration_seconds`` of video, in USD, to the cent.
        ``drawn_keyframes``: keyframes a local GPU draws before the clip (none elsewhere)."""
        cost = self.usd_per_second * Decimal(str(duration_seconds))
        return cost.quantize(Decimal("0.01"))

    def scene_duration(self, needed_seconds: float) -> float | None:
        """The length, in seconds, of a scene clip that must last at least ``needed_seconds``:
        exactly that (at least the shortest) where ``scene_seconds`` allows any length, else
        the shortest offered duration that is long enough; None when none is."""
        caps = self.capabilities
        if caps.scene_seconds is not None:
            shortest, longest = caps.scene_seconds
            length = max(shortest, round(needed_seconds, 2))
            return length if length <= longest else None
        return min((d for d in caps.durations_seconds if d >= needed_seconds), default=None)

    def longest_scene_seconds(self) -> float:
        """The longest scene this backend can render, in seconds."""
        caps = self.capabilities
        return caps.scene_seconds[1] if caps.scene_seconds else max(caps.durations_seconds)

    def validate(self, request: ClipRequest) -> None:
        """Refuse a request this backend cannot take, before anything is stored or billed.

        Checks the prompt (1..``prompt_limit`` characters), the duration and the aspect ratio
        against ``capabilities``. Raises ``InvalidClipRequest`` with a message for the user.
        """
        caps = self.capabilities
        prompt = visible_text(request.prompt)
        if not prompt:
            raise InvalidClipRequest(
                "Write a prompt: what should the character do? (Spaces and invisible "
                "characters alone are not a prompt.)"
            )
        scene_range = caps.scene_seconds if request.scene else None
        if scene_range and not scene_range[0] <= request.duration_seconds <= scene_range[1]:
            raise InvalidClipRequest(
                f"{self.label} makes scenes of {scene_range[0]:g} to {scene_range[1]:g} "
                f"seconds, not {request.duration_seconds:g}."
            )
        if not scene_range and request.duration_seconds not in caps.durations_seconds:
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


@dataclass(frozen=True)
class LocalCharge:
    """What a local render bills: ``quantity`` of ``unit`` (a ``jobs.models.ChargeUnit``
    value, e.g. "gpu_seconds") costing ``cost_usd``."""

    unit: str
    quantity: float
    cost_usd: Decimal


class ClipRenderer(ClipBackend):
    """A backend that renders the clip in the worker holding the job."""

    def ready_problem(self) -> str | None:
        """Why users cannot choose this renderer now (its weights or device are missing on
        the worker that runs it), or None when they can. No network call."""
        return None

    def estimated_charge(
        self, duration_seconds: float, *, drawn_keyframes: int = 0
    ) -> LocalCharge | None:
        """The charge recorded in the spend ledger when a clip of ``duration_seconds`` is
        queued (its estimate, with ``drawn_keyframes`` drawn first), or None for a renderer
        that records none (the animatic)."""
        return None

    def actual_charge(self, clip: RenderedClip) -> LocalCharge | None:
        """The charge ``clip`` actually made, or None for a renderer that records none."""
        return None

    @abstractmethod
    def render(
        self, request: ClipRequest, *, workdir: Path, progress: ProgressCallback
    ) -> RenderedClip:
        """Render ``request`` into files under ``workdir``.

        Raises ``RenderError`` for failures the user should read and ``RenderCanceled`` when
        ``progress`` raised it. Files left in ``workdir`` are the caller's to remove.
        """


@dataclass(frozen=True)
class InvocationState:
    """What a provider said of an invocation: ``status`` (``IN_PROGRESS``, ``COMPLETED`` or
    ``FAILED``), its ``failure_message`` when it failed, and where it writes its output."""

    status: str
    failure_message: str = ""
    output_s3_uri: str = ""


class ClipInvocationBackend(ClipBackend):
    """A backend whose clip is a provider's async job (an *invocation*).

    The job service drives it from short messages on the ``cloud`` queue: ``start`` once (with
    a client token saved beforehand, so a repeat is not billed twice), ``check`` on a schedule,
    then ``download_output``; nothing here waits or sleeps. Methods raise a provider error
    (``generation.aws.ProviderError`` and its kinds) when a call fails.
    """

    queue: ClassVar[str] = "cloud"
    model_id: str = ""
    region: str = ""
    #: How long a job usually takes, in seconds of wall-clock time per second of video; only
    #: used to estimate progress, which the provider does not report.
    typical_seconds_per_video_second: float = 1.0

    def typical_seconds(self, duration_seconds: float) -> float:
        """About how long the provider takes for ``duration_seconds`` of video, in seconds."""
        return self.typical_seconds_per_video_second * duration_seconds

    @abstractmethod
    def start(self, request: ClipRequest, *, client_token: str) -> str:
        """Start the invocation; returns its id at the provider (an ARN)."""

    @abstractmethod
    def find(self, *, client_token: str, submitted_after: datetime) -> str | None:
        """The id of an invocation started with ``client_token`` since ``submitted_after``."""

    @abstractmethod
    def check(self, arn: str) -> InvocationState:
        """The invocation's current state (one call)."""

    @abstractmethod
    def download_output(self, arn: str, state: InvocationState, target: Path) -> bool:
        """Copy the finished video to ``target``; False if it is not there yet."""

    @abstractmethod
    def failure_details(self, arn: str, state: InvocationState) -> str:
        """Everything the provider said about a failure, as one text."""
