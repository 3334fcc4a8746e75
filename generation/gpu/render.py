"""Rendering a clip with a diffusers pipeline on this worker's GPU, one clip at a time per
process: the keyframes drawn first when the request asks (``draw``), the model's pipeline from
the warm cache (``pipelines``), denoising with a progress report (and a cancel check) after
every step, then the frames encoded. Imports torch and diffusers when it runs, so only a worker
serving the ``gpu`` queue runs it (``backends.GpuClipBackend.render``)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
from django.conf import settings
from PIL import Image, ImageOps

from ..encoding import FASTSTART, encode_frames, h264, poster_index, save_stills
from ..video import (
    ClipRequest,
    KeyframeDrawing,
    ProgressCallback,
    RenderedClip,
    RenderError,
)
from .draw import draw_keyframe
from .heartbeat import heartbeat
from .keyframes import GpuKeyframeModel
from .pipelines import run_pipeline, save_memory, warm_pipeline
from .warm import GpuModel, is_warm, key, warm

logger = logging.getLogger(__name__)

# A pipeline is not thread-safe (its scheduler keeps the step), and one GPU runs one clip well:
# a worker process renders one clip at a time, whatever its thread count (the embedded mode).
_gpu = threading.Lock()

# Shares of the job's progress: loading, prompt, denoising, decoding, encoding.
_DENOISE_START, _DENOISE_END, _ENCODE_START = 0.08, 0.85, 0.93


class ClipModel(GpuModel, Protocol):
    """What rendering needs of a clip model (``backends.GpuClipBackend``): its frame rate,
    negative prompt and other pipeline arguments, frame size in pixels, the frame count for a
    length, and its steps and guidance."""

    fps: ClassVar[int]
    negative_prompt: ClassVar[str]
    pipeline_arguments: ClassVar[dict[str, Any]]

    @property
    def size(self) -> tuple[int, int]: ...

    def frame_count(self, duration_seconds: float) -> int: ...

    def steps_and_guidance(self) -> tuple[int, float]: ...


def _frame_image(path: Path, width: int, height: int) -> Image.Image:
    """The image at ``path`` as RGB, cropped to fill ``width``×``height`` (centre)."""
    try:
        with Image.open(path) as image:
            return ImageOps.fit(image.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
    except OSError as error:
        raise RenderError(
            "preparing", f"An opening or closing frame could not be read: {error}"
        ) from error


def _needs_last_frame(pipeline: Any) -> bool:
    # Wan 2.1 FLF2V's transformer embeds two images (its config sets pos_embed_seq_len);
    # Wan 2.2 I2V and LTX-Video take a closing frame or none.
    transformer = getattr(pipeline, "transformer", None)
    return bool(getattr(getattr(transformer, "config", None), "pos_embed_seq_len", None))


def _inputs(
    backend: ClipModel,
    request: ClipRequest,
    size: tuple[int, int],
    frames: int,
    *,
    needs_last: bool,
) -> dict[str, Any]:
    """The pipeline's keyword arguments for ``request`` (prompt, frames to open and close on,
    size, frame count, steps, guidance, seed). A model that must close on a frame and has
    none closes on the character's second photo, or else where it opened."""
    import torch

    width, height = size
    photos = list(request.reference_images)
    opening = request.first_frame or next(iter(photos), None)
    if opening is None:
        raise RenderError("preparing", "The clip has no image to open on.")
    closing = request.last_frame
    if closing is None and needs_last:
        closing = photos[1] if len(photos) > 1 else opening
    first = _frame_image(opening, width, height)
    last = _frame_image(closing, width, height) if closing else None
    steps, guidance = backend.steps_and_guidance()
    common: dict[str, Any] = {
        "prompt": request.prompt,
        "negative_prompt": backend.negative_prompt,
        "height": height,
        "width": width,
        "num_frames": frames,
        "num_inference_steps": steps,
        "guidance_scale": guidance,
        "generator": torch.Generator(device="cpu").manual_seed(request.seed),
        "output_type": "np",
        **backend.pipeline_arguments,
    }
    if backend.pipeline_class == "WanImageToVideoPipeline":
        return {**common, "image": first, "last_image": last}
    from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

    conditions = [LTXVideoCondition(image=first, frame_index=0)]
    if last is not None:
        conditions.append(LTXVideoCondition(image=last, frame_index=frames - 1))
    return {**common, "conditions": conditions}


def render_clip(
    backend: ClipModel, request: ClipRequest, *, workdir: Path, progress: ProgressCallback
) -> RenderedClip:
    """Render ``request`` with ``backend`` (see ``GpuClipBackend.render``), one clip at a time
    per process: a second waits for the GPU ("waiting for the GPU"), and may be cancelled
    while it waits."""
    if not _gpu.acquire(blocking=False):
        progress("waiting for the GPU", 0.0)
        while not _gpu.acquire(timeout=1.0):
            progress("waiting for the GPU", 0.0)
    try:
        with heartbeat(progress) as reporting:
            return _render_clip(backend, request, workdir=workdir, progress=reporting)
    finally:
        _gpu.release()


#: The share of a clip's progress that drawing its keyframes takes (both, when both are drawn).
_KEYFRAME_SHARE = 0.1


def _part(progress: ProgressCallback, start: float, end: float) -> ProgressCallback:
    """``progress`` for one part of a job, which reports its own fraction 0..1 as
    ``start``..``end`` of the whole."""

    def report(stage: str, fraction: float) -> None:
        progress(stage, start + (end - start) * fraction)

    return report


def _draw_keyframes(
    request: ClipRequest,
    drawing: KeyframeDrawing,
    *,
    size: tuple[int, int],
    workdir: Path,
    progress: ProgressCallback,
) -> tuple[ClipRequest, dict[str, Path]]:
    """Draw the keyframes ``drawing`` asks for; returns ``request`` opening and closing on
    them, and the drawn PNGs by "first" and "last"."""
    wanted = [
        (which, slot, prompt, seed)
        for which, slot, prompt, seed in (
            ("opening", "first", drawing.opening, drawing.seed),
            ("closing", "last", drawing.closing, drawing.seed + 1),
        )
        if prompt
    ]
    drawn: dict[str, Path] = {}
    for index, (which, slot, prompt, seed) in enumerate(wanted):
        drawn[slot] = draw_keyframe(
            GpuKeyframeModel(), prompt=prompt, seed=seed,
            photos=list(request.reference_images), size=size, workdir=workdir,
            progress=_part(progress, index / len(wanted), (index + 1) / len(wanted)),
            which=which,
        )  # fmt: skip
    return replace(
        request,
        first_frame=drawn.get("first", request.first_frame),
        last_frame=drawn.get("last", request.last_frame),
    ), drawn


def _render_clip(
    backend: ClipModel, request: ClipRequest, *, workdir: Path, progress: ProgressCallback
) -> RenderedClip:
    width, height = backend.size
    frames = backend.frame_count(request.duration_seconds)
    keyframe_seconds = 0.0
    drawn: dict[str, Path] = {}
    if request.drawing is not None:
        started = time.monotonic()
        request, drawn = _draw_keyframes(
            request, request.drawing, size=(width, height), workdir=workdir,
            progress=_part(progress, 0.0, _KEYFRAME_SHARE),
        )  # fmt: skip
        keyframe_seconds = time.monotonic() - started
        progress = _part(progress, _KEYFRAME_SHARE, 1.0)
    if not is_warm(backend):
        progress("loading the model", 0.0)
    pipeline, speeds = warm_pipeline(backend)
    kept = warm[key(backend)]
    # Compiling takes about a minute, the prompt a moment: name the long part.
    compiling = "regional compile" in speeds and not kept.used
    prompt_stage = "compiling the model (first clip)" if compiling else "encoding the prompt"
    arguments = _inputs(
        backend, request, (width, height), frames, needs_last=_needs_last_frame(pipeline)
    )
    steps = arguments["num_inference_steps"]

    on_step_end = _step_reporter(progress, steps)
    fit = _MemoryFallback(
        pipeline, f"a {width}x{height} clip of {frames} frames", backend.size_setting
    )

    def denoise() -> Any:
        progress(prompt_stage, 0.05)
        # The same seed on every try: a retry makes the clip the first attempt would have.
        arguments["generator"].manual_seed(request.seed)
        return pipeline(**arguments, callback_on_step_end=on_step_end)

    started = time.monotonic()
    output = run_pipeline(backend, pipeline, denoise, fit=fit)
    kept.used = True
    gpu_seconds = time.monotonic() - started + keyframe_seconds
    pictures = (np.clip(np.asarray(output.frames[0]), 0.0, 1.0) * 255).round().astype(np.uint8)
    progress("encoding the video", _ENCODE_START)
    video_path, poster_path, last_frame_path = _encode(pictures, fps=backend.fps, workdir=workdir)
    return RenderedClip(
        video_path=video_path,
        poster_path=poster_path,
        last_frame_path=last_frame_path,
        duration_seconds=len(pictures) / backend.fps,
        metadata=_clip_metadata(pictures, backend, steps, gpu_seconds, fit.saving_memory, speeds),
        drawn_keyframes=drawn,
    )


def _clip_metadata(
    pictures: np.ndarray, backend: ClipModel, steps: int, gpu_seconds: float,
    memory_saving: bool, speed_ups: list[str],
) -> dict[str, Any]:  # fmt: skip
    """What the clip's row records of its render: size (pixels), fps, frames, steps, GPU
    seconds, device, whether memory was saved and the speed-ups used."""
    return {
        "width": int(pictures.shape[2]),
        "height": int(pictures.shape[1]),
        "fps": backend.fps,
        "frames": len(pictures),
        "steps": steps,
        "gpu_seconds": round(gpu_seconds, 2),
        "device": settings.GPU_DEVICE,
        "memory_saving": memory_saving,
        "speed_ups": speed_ups,
    }


def encode_video(pictures: np.ndarray, *, fps: int, path: Path) -> None:
    """Encode ``pictures`` (frames × height × width × 3, uint8 RGB) with the one H.264
    encoding (``encoding.h264``) at ``fps``, index first. Raises ``RenderError`` ("encoding the
    video") when ffmpeg fails."""
    count, height, width, _ = pictures.shape
    # yuv420p needs even sizes: pad a pixel where the model's size is odd.
    pad = f"pad={width + width % 2}:{height + height % 2}"
    try:
        encode_frames(
            iter(pictures), width=width, height=height, fps=fps,
            outputs=["-vf", pad, *h264(fps=fps), *FASTSTART, str(path)],
        )  # fmt: skip
    except OSError as error:
        raise RenderError(
            "encoding the video", f"ffmpeg could not encode the clip: {error}"
        ) from error


def _step_reporter(progress: ProgressCallback, steps: int) -> Any:
    """The pipeline's ``callback_on_step_end``: progress after each of ``steps`` denoising
    steps (and "decoding" after the last); a cancelled job stops there (``progress`` raises)."""

    def on_step_end(pipe: Any, index: int, timestep: Any, tensors: dict[str, Any]) -> Any:
        done = index + 1
        span = _DENOISE_END - _DENOISE_START
        progress(f"denoising step {done} of {steps}", _DENOISE_START + span * done / steps)
        if done == steps:
            progress("decoding", _DENOISE_END)
        return tensors

    return on_step_end


class _MemoryFallback:
    """``run_pipeline``'s ``fit``: on the first out-of-memory, save memory (VAE tiling and
    offloading) for the retry; on the second, raise ``RenderError`` naming ``what`` was asked
    and the ``size_setting`` to lower. ``saving_memory`` tells whether the retry happened."""

    def __init__(self, pipeline: Any, what: str, size_setting: str) -> None:
        self.pipeline, self.what, self.size_setting = pipeline, what, size_setting
        self.saving_memory = False

    def __call__(self, error: BaseException) -> None:
        if self.saving_memory:
            raise RenderError(
                "denoising",
                f"The GPU ran out of memory for {self.what}, even with VAE tiling and "
                f"offloading. Try LTX-Video, the draft preset or a smaller {self.size_setting}.",
            ) from error
        logger.warning("Out of GPU memory; once more with VAE tiling and offloading.")
        save_memory(self.pipeline)
        self.saving_memory = True


def _encode(pictures: np.ndarray, *, fps: int, workdir: Path) -> tuple[Path, Path, Path]:
    """Encode ``pictures`` (frames × height × width × 3, uint8) at ``fps`` into the clip, its
    poster and its last frame in ``workdir``; returns their paths in that order."""
    video_path = workdir / "video.mp4"
    encode_video(pictures, fps=fps, path=video_path)
    poster_path, last_frame_path = workdir / "poster.jpg", workdir / "last-frame.jpg"
    save_stills(
        poster=pictures[poster_index(len(pictures))], last=pictures[-1],
        poster_path=poster_path, last_frame_path=last_frame_path,
    )  # fmt: skip
    return video_path, poster_path, last_frame_path
