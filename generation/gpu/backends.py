"""The local GPU clip backends (Hugging Face diffusers): what they are, what they accept, and
whether this site can offer them. The rendering itself, which imports torch and diffusers, is
in ``render`` and runs only in a worker serving the ``gpu`` queue.

Two models, both with first- and last-frame conditioning:

- Wan 2.1 FLF2V / Wan 2.2 I2V (``WanImageToVideoPipeline``, ``image=`` and ``last_image=``), the
  quality option; 16 fps, frame counts of 4k+1, sizes divisible by 16
  (https://huggingface.co/docs/diffusers/api/pipelines/wan);
- LTX-Video (``LTXConditionPipeline``, a condition on the first and on the last frame), the
  fast option; 24 fps, frame counts of 8k+1, sizes divisible by 32
  (https://huggingface.co/docs/diffusers/api/pipelines/ltx_video).

Weights come from local folders the settings name (a diffusers pipeline folder, as
``save_pretrained`` writes it); nothing is downloaded. A backend is offered only when its
folder holds the right model and its device is present; ``gpu_status`` says why not. A gpu
worker publishes what it found when it boots (``publish_statuses``), so a web process on
another machine offers what that worker can render.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings

from ..registry import configured_backends
from ..video import (
    BackendCapabilities,
    ClipRenderer,
    ClipRequest,
    LocalCharge,
    ProgressCallback,
    RenderedClip,
)
from .keyframes import GpuKeyframeModel, keyframe_model, keyframe_problem
from .readiness import check_weights, device_problem, speed_problem
from .render import render_clip
from .status import gpu_status
from .warm import GpuModel


def parse_size(text: str) -> tuple[int, int]:
    """ "832x480" as (832, 480) pixels. Raises ``ValueError`` for anything else."""
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


class GpuClipBackend(ClipRenderer):
    """A diffusers image-to-video model on this site's GPU worker (see the module docstring).

    Subclasses name the pipeline class, the model folders it accepts, its frame rate and the
    multiples its frame count and size must keep, and the settings that configure them.
    """

    queue: ClassVar[str] = "gpu"
    #: The diffusers pipeline class that renders it.
    pipeline_class: ClassVar[str] = ""
    #: ``_class_name`` values of ``model_index.json`` this pipeline can load.
    accepted_models: ClassVar[tuple[str, ...]] = ()
    #: The model's frame rate, and its frame counts are ``frame_step * k + 1``.
    fps: ClassVar[int] = 16
    frame_step: ClassVar[int] = 4
    #: Width and height must be multiples of this, in pixels.
    size_multiple: ClassVar[int] = 16
    #: Settings: the weights folder, the frame size ("WxH") and steps/guidance per preset.
    weights_setting: ClassVar[str] = ""
    size_setting: ClassVar[str] = ""
    seconds_per_step_setting: ClassVar[str] = ""
    presets: ClassVar[dict[str, tuple[int, float]]] = {}
    #: Whether ``GPU_FIRST_BLOCK_CACHE`` applies (a model of many steps).
    first_block_cache: ClassVar[bool] = True
    #: Whether its attention takes a mask, which FlashAttention's kernels refuse.
    attention_mask: ClassVar[bool] = False
    #: Components loaded in float32 on a GPU (the rest in bf16).
    full_precision: ClassVar[tuple[str, ...]] = ()
    #: What the model is steered away from (classifier-free guidance's other prompt).
    negative_prompt: ClassVar[str] = ""
    #: Further keyword arguments its pipeline is called with.
    pipeline_arguments: ClassVar[dict[str, Any]] = {}
    #: The scheduler's flow shift below 720p and from 720p up (None: the checkpoint's own).
    flow_shifts: ClassVar[tuple[float, float] | None] = None
    #: A dream's clip length, and the shortest and longest film scene, in seconds (a scene
    #: lasts as long as its narration needs, within the model's own range).
    clip_seconds: ClassVar[float] = 5.0
    scene_range: ClassVar[tuple[float, float]] = (2.0, 5.0)

    @property
    def weights(self) -> str:
        """The weights folder the settings name ("" when none)."""
        return str(getattr(settings, self.weights_setting, "") or "")

    @property
    def size(self) -> tuple[int, int]:
        """The frame size in pixels (width, height). Raises ``ValueError`` when the setting
        is not "WxH"."""
        return parse_size(str(getattr(settings, self.size_setting)))

    def scheduler_shift(self) -> float | None:
        """The flow shift for the frame size (``flow_shifts``: a shorter side under 720 pixels
        takes the first), or None to keep the checkpoint's scheduler as it is."""
        if self.flow_shifts is None:
            return None
        low, high = self.flow_shifts
        return high if min(self.size) >= 720 else low

    @property
    def capabilities(self) -> BackendCapabilities:  # type: ignore[override]
        try:
            width, height = self.size
        except ValueError:
            width, height = (0, 0)
        return BackendCapabilities(
            durations_seconds=(self.clip_seconds,),
            max_prompt_chars=800,
            width=width,
            height=height,
            fps=self.fps,
            first_frame_durations=(self.clip_seconds,),
            takes_last_frame=True,
            scene_seconds=self.scene_range,
        )

    def is_configured(self) -> bool:
        """Whether the operator named a weights folder (whether it holds the model, and the
        GPU is there, is ``gpu_status``)."""
        return bool(self.weights)

    def steps_and_guidance(self) -> tuple[int, float]:
        """Denoising steps and classifier-free guidance scale of ``GPU_PRESET`` ("quality":
        the model's own; "draft": fewer steps), steps overridden by ``GPU_STEPS`` when set."""
        steps, guidance = self.presets.get(settings.GPU_PRESET, self.presets["quality"])
        return (settings.GPU_STEPS or steps), guidance

    def frame_count(self, duration_seconds: float) -> int:
        """Frames for ``duration_seconds``: at least that long, and a count the model takes
        (``frame_step * k + 1``)."""
        wanted = max(1, round(duration_seconds * self.fps))
        steps = -(-(wanted - 1) // self.frame_step)
        return self.frame_step * steps + 1

    def local_problem(self) -> str | None:
        """Why this machine cannot render with this backend, or None: the weights folder and
        its model, the frame size, the device. Reads files only; imports no torch."""
        if not self.weights:
            return f"No weights folder is set ({self.weights_setting})."
        problem = check_weights(Path(self.weights), accepted=self.accepted_models, label=self.label)
        if problem:
            return problem
        try:
            width, height = self.size
        except ValueError:
            return f"{self.size_setting} must be WIDTHxHEIGHT in pixels, like 832x480."
        multiple = self.size_multiple
        if width <= 0 or height <= 0 or width % multiple or height % multiple:
            return (
                f"{self.label} makes frames whose width and height are multiples of "
                f"{multiple} pixels; {self.size_setting} is {width}x{height}."
            )
        return speed_problem(masked=self.attention_mask, label=self.label) or device_problem(
            settings.GPU_DEVICE
        )

    def ready_problem(self) -> str | None:
        """Why users cannot choose this backend now: what a running gpu worker published, or
        this machine finds (``status.gpu_status``); None when it can render."""
        status = gpu_status(self)
        return None if status.ready else status.detail or "The GPU worker is not ready."

    def drawing_problem(self) -> str | None:
        """Why its clips cannot open or close on keyframes drawn from the photos now: the
        keyframe model is not configured or not ready (``keyframes.keyframe_problem``)."""
        return keyframe_problem()

    def render(
        self, request: ClipRequest, *, workdir: Path, progress: ProgressCallback
    ) -> RenderedClip:
        """Render ``request`` on this worker's GPU: an H.264 MP4 at the model's frame rate and
        size, opening on ``first_frame`` (or the first reference image) and closing on
        ``last_frame`` when given. Stages: loading the model, encoding the prompt, denoising
        step i of N, decoding, encoding the video. Raises ``RenderError`` (the stage and why:
        weights that will not load, out of GPU memory) and lets ``RenderCanceled`` through
        between two denoising steps."""
        return render_clip(self, request, workdir=workdir, progress=progress)

    @property
    def usd_per_gpu_second(self) -> Decimal:
        """The operator's price of one GPU-second, in USD (``GPU_USD_PER_SECOND``)."""
        return Decimal(str(settings.GPU_USD_PER_SECOND))

    def estimated_gpu_seconds(
        self, duration_seconds: float | None = None, *, drawn_keyframes: int = 0
    ) -> float:
        """GPU-seconds a clip of ``duration_seconds`` (default: a dream's) is expected to
        take: the preset's steps times the operator's measured seconds per step
        (``*_SECONDS_PER_STEP``, measured on a dream-length clip; the defaults are the H100
        figures in docs/gpu.md), scaled by the clip's frames against a dream's. A step's time
        grows at least that fast with the frames, so a long scene's estimate is a floor.
        Each of ``drawn_keyframes`` adds the keyframe model's steps times
        ``KEYFRAME_SECONDS_PER_STEP``."""
        steps, _ = self.steps_and_guidance()
        frames = self.frame_count(duration_seconds or self.clip_seconds)
        scale = frames / self.frame_count(self.clip_seconds)
        clip = steps * float(getattr(settings, self.seconds_per_step_setting)) * scale
        if drawn_keyframes <= 0:
            return clip
        drawing_steps, _ = GpuKeyframeModel().steps_and_guidance()
        return clip + drawn_keyframes * drawing_steps * float(settings.KEYFRAME_SECONDS_PER_STEP)

    def estimate_cost_usd(self, duration_seconds: float, *, drawn_keyframes: int = 0) -> Decimal:
        """The expected GPU-seconds (``estimated_gpu_seconds``) at the operator's price, in
        USD to the cent (0 by default: a local GPU has no provider price)."""
        seconds = self.estimated_gpu_seconds(duration_seconds, drawn_keyframes=drawn_keyframes)
        return (self.usd_per_gpu_second * Decimal(str(seconds))).quantize(Decimal("0.01"))

    def estimated_charge(self, duration_seconds: float, *, drawn_keyframes: int = 0) -> LocalCharge:
        """GPU-seconds are recorded for every clip, priced or not."""
        return LocalCharge(
            "gpu_seconds",
            self.estimated_gpu_seconds(duration_seconds, drawn_keyframes=drawn_keyframes),
            self.estimate_cost_usd(duration_seconds, drawn_keyframes=drawn_keyframes),
        )

    def actual_charge(self, clip: RenderedClip) -> LocalCharge:
        """The clip's measured GPU-seconds (loading to decoded frames) at the price."""
        seconds = float(clip.metadata.get("gpu_seconds", 0.0))
        cost = (self.usd_per_gpu_second * Decimal(str(seconds))).quantize(Decimal("0.01"))
        return LocalCharge("gpu_seconds", seconds, cost)


class WanBackend(GpuClipBackend):
    """Wan 2.1 FLF2V 14B / Wan 2.2 I2V on the local GPU: the quality option."""

    name = "wan-flf2v"
    label = "Wan first-last-frame (local GPU)"
    pipeline_class = "WanImageToVideoPipeline"
    accepted_models = ("WanImageToVideoPipeline",)
    fps, frame_step, size_multiple = 16, 4, 16
    # Trained on 81 frames at 16 fps (5 s): longer scenes are not offered.
    scene_range = (2.0, 5.0)
    weights_setting, size_setting = "WAN_WEIGHTS", "WAN_SIZE"
    seconds_per_step_setting = "WAN_SECONDS_PER_STEP"
    # Wan's own: 50 steps, guidance 5.0 (Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers model card).
    presets = {"quality": (50, 5.0), "draft": (16, 5.0)}
    # The VAE and the CLIP image encoder in float32, as diffusers' Wan FLF2V example loads them:
    # https://huggingface.co/docs/diffusers/api/pipelines/wan
    full_precision = ("vae", "image_encoder")
    # The FLF2V checkpoint is trained at 720p; the default size stays 832x480 (a 5 s clip in
    # about a third of the time and memory), with the shift diffusers' Wan pages give for each:
    # "flow_shift = 5.0  # 5.0 for 720P, 3.0 for 480P" (WanPipeline's example).
    flow_shifts = (3.0, 5.0)
    # The negative prompt of diffusers' Wan image-to-video example (the Wan team's own,
    # translated): https://huggingface.co/docs/diffusers/api/pipelines/wan
    negative_prompt = (
        "Bright tones, overexposed, static, blurred details, subtitles, style, works, "
        "paintings, images, static, overall gray, worst quality, low quality, JPEG compression "
        "residue, ugly, incomplete, extra fingers, poorly drawn hands, poorly drawn faces, "
        "deformed, disfigured, misshapen limbs, fused fingers, still picture, messy background, "
        "three legs, many people in the background, walking backwards"
    )


class LtxBackend(GpuClipBackend):
    """LTX-Video on the local GPU: the fast option."""

    name = "ltx-video"
    label = "LTX-Video (local GPU, fast)"
    pipeline_class = "LTXConditionPipeline"
    # The condition pipeline's folders (LTX-Video 0.9.5 and later) only: it opens and closes
    # on frames, and the older text- and image-to-video folders lack what it needs.
    accepted_models = ("LTXConditionPipeline",)
    fps, frame_step, size_multiple = 24, 8, 32
    # Up to 257 frames (Lightricks/LTX-Video's README): a film scene may last 10 s.
    scene_range = (2.0, 10.0)
    weights_setting, size_setting = "LTX_WEIGHTS", "LTX_SIZE"
    seconds_per_step_setting = "LTX_SECONDS_PER_STEP"
    # LTX-Video's own: 40 steps, guidance 3.0 (Lightricks/LTX-Video model card, diffusers docs).
    presets = {"quality": (40, 3.0), "draft": (12, 3.0)}
    # Its cross-attention always passes a mask (the prompt's padding).
    attention_mask = True
    # diffusers' LTX-Video page, for 0.9.1 and later: the negative prompt, and decoding at a
    # small timestep with a little noise (the condition images get as little); the frame
    # rate is the one the clip is encoded at. https://huggingface.co/docs/diffusers/api/pipelines/ltx_video
    negative_prompt = "worst quality, inconsistent motion, blurry, jittery, distorted"
    pipeline_arguments = {
        "frame_rate": fps,
        "decode_timestep": 0.05,
        "decode_noise_scale": 0.025,
        "image_cond_noise_scale": 0.025,
    }


def gpu_backends() -> list[GpuClipBackend]:
    """The GPU backends the settings name in ``CLIP_BACKENDS`` with a weights folder."""
    return [b for b in configured_backends() if isinstance(b, GpuClipBackend)]


def gpu_models() -> list[GpuModel]:
    """Every model configured for the gpu worker: the clip backends, then the keyframe model
    when ``KEYFRAME_WEIGHTS`` names one."""
    keyframes = keyframe_model()
    return [*gpu_backends(), *([keyframes] if keyframes else [])]
