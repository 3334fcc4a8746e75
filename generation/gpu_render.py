"""Rendering a clip with a diffusers pipeline on this worker's GPU. Imports torch and diffusers,
so only a worker serving the ``gpu`` queue imports it (``GpuClipBackend.render``).

A pipeline is loaded once and kept warm in the process, from its local folder only:
``local_files_only`` and ``HF_HUB_OFFLINE`` keep diffusers from reaching the Hub. The warm
pipelines are bounded by GPU memory: together their weights take at most
``GPU_WARM_MEMORY_SHARE`` of the card (the rest is for a clip's activations and decoding), and
there are at most ``GPU_WARM_PIPELINES`` of them; the least recently used is let go first.
"""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from PIL import Image, ImageOps

from .video import (
    ClipRequest,
    KeyframeDrawing,
    ProgressCallback,
    RenderCanceled,
    RenderedClip,
    RenderError,
)

if TYPE_CHECKING:
    from typing import TypeAlias

    from .gpu_keyframes import GpuKeyframeModel
    from .gpu_models import GpuClipBackend

    Model: TypeAlias = GpuClipBackend | GpuKeyframeModel

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

logger = logging.getLogger(__name__)


@dataclass
class _Warm:
    pipeline: Any
    speed_ups: list[str]
    #: Bytes its weights take on the device (parameters and buffers).
    size: int = 0
    #: Whether a clip has run since loading (the first one compiles, when compile is on).
    used: bool = False


_warm: OrderedDict[tuple[str, str, str], _Warm] = OrderedDict()
# A pipeline is not thread-safe (its scheduler keeps the step), and one GPU runs one clip well:
# a worker process renders one clip at a time, whatever its thread count (the embedded mode).
_gpu = threading.Lock()

# Shares of the job's progress: loading, prompt, denoising, decoding, encoding.
_DENOISE_START, _DENOISE_END, _ENCODE_START = 0.08, 0.85, 0.93


def _dtype(device: str) -> Any:
    import torch

    # bf16 on a GPU (the models' own precision); float32 on the CPU, which lacks fast bf16.
    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def _quiet() -> None:
    # Loading bars are for a terminal; a worker logs one line per stage instead.
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def _key(backend: Model) -> tuple[str, str, str]:
    return (backend.pipeline_class, backend.weights, settings.GPU_DEVICE)


def is_warm(backend: Model) -> bool:
    """Whether ``backend``'s pipeline is loaded in this process on ``GPU_DEVICE``."""
    return _key(backend) in _warm


def loaded_bytes(backend: Model) -> int | None:
    """Bytes ``backend``'s weights take where this process keeps them loaded, or None when
    it does not."""
    warm = _warm.get(_key(backend))
    return warm.size if warm else None


def warm_pipeline(backend: Model) -> tuple[Any, list[str]]:
    """``backend``'s pipeline on ``GPU_DEVICE``, loaded now (with the speed-ups of
    ``gpu_speed.speed_up``) or kept from an earlier clip; returns it and the speed-ups applied,
    in words. Makes room first (``_make_room``). Raises ``RenderError`` ("loading the model")
    when the weights will not load, or do not fit even with no other pipeline kept."""
    from .gpu_speed import speed_up

    device = settings.GPU_DEVICE
    key = _key(backend)
    if key in _warm:
        _warm.move_to_end(key)
        return _warm[key].pipeline, _warm[key].speed_ups
    _make_room(weights_bytes(Path(backend.weights)) if backend.weights else 0)
    pipeline = _load(backend, device)
    pipeline.set_progress_bar_config(disable=True)
    speed_ups = speed_up(pipeline, device=device, cache=backend.first_block_cache)
    _warm[key] = _Warm(pipeline, speed_ups, size=_loaded_bytes(pipeline))
    logger.info(
        "Loaded %s from %s (%.1f GB); warm: %s",
        backend.label, backend.weights, _warm[key].size / 1e9, ", ".join(k[1] for k in _warm),
    )  # fmt: skip
    _publish()
    return pipeline, speed_ups


def _publish() -> None:
    """Publish this worker's model statuses now, so the model status page shows what it keeps
    loaded without waiting for the next ``GPU_STATUS_SECONDS``."""
    from .gpu_models import publish_statuses

    try:
        publish_statuses()
    except Exception:
        # The cache away for a moment must not fail a clip: the next refresh publishes.
        logger.warning("Publishing the GPU status failed.", exc_info=True)


#: Files that hold a diffusers or transformers component's weights.
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")


def weights_bytes(folder: Path) -> int:
    """Bytes of the weight files in ``folder`` (0 when it cannot be read): about what the
    pipeline takes once loaded, more where the files are float32 (or hold a second variant)
    and load in bf16. The estimate used to make room before loading it."""
    try:
        return sum(
            path.stat().st_size
            for path in folder.rglob("*")
            if path.suffix in _WEIGHT_SUFFIXES and path.is_file()
        )
    except OSError:
        return 0


def _loaded_bytes(pipeline: Any) -> int:
    """Bytes the parameters and buffers of ``pipeline``'s models take where they are."""
    import torch

    return sum(
        tensor.numel() * tensor.element_size()
        for component in pipeline.components.values()
        if isinstance(component, torch.nn.Module)
        for tensor in (*component.parameters(), *component.buffers())
    )


def warm_memory_budget(device: str) -> int:
    """Bytes the warm pipelines' weights may take together on ``device``:
    ``GPU_WARM_MEMORY_SHARE`` of the GPU's memory, or of this machine's memory on the CPU."""
    if device.startswith("cuda"):
        import torch

        total = int(torch.cuda.get_device_properties(device).total_memory)
    else:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(settings.GPU_WARM_MEMORY_SHARE * total)


def _make_room(wanted: int) -> None:
    """Let go of the least recently used warm pipelines until one of ``wanted`` bytes more
    stays within ``GPU_WARM_PIPELINES`` and the memory budget (``warm_memory_budget``)."""
    limit = max(1, settings.GPU_WARM_PIPELINES)
    budget = warm_memory_budget(settings.GPU_DEVICE)
    while _warm and (len(_warm) >= limit or sum(w.size for w in _warm.values()) + wanted > budget):
        key, _ = _warm.popitem(last=False)
        logger.info("Letting %s go to make room for the next model.", key[1])
        _release_memory()


def _let_others_go(backend: Model) -> bool:
    """Let go of every warm pipeline but ``backend``'s; returns whether there were any."""
    others = [key for key in _warm if key != _key(backend)]
    for key in others:
        del _warm[key]
        logger.info("Letting %s go: the GPU ran out of memory.", key[1])
    if others:
        _release_memory()
        _publish()
    return bool(others)


def _load(backend: Model, device: str) -> Any:
    """``backend``'s pipeline from its folder, on ``device``; when it does not fit, the other
    warm pipelines make way and it loads once more. Raises ``RenderError`` ("loading the
    model") when the weights will not load or do not fit even then."""
    import diffusers

    pipeline_class = getattr(diffusers, backend.pipeline_class)
    _quiet()
    try:
        pipeline = pipeline_class.from_pretrained(
            backend.weights, dtype=_dtype(device), local_files_only=True
        )
        pipeline.to(device)
    except Exception as error:  # diffusers raises OSError, ValueError, safetensors' own...
        _release_memory()
        # Another process, or an estimate short of the truth: the others make way, once.
        if _is_out_of_memory(error) and _let_others_go(backend):
            return _load(backend, device)
        logger.exception("Loading %s from %s failed", backend.name, backend.weights)
        if _is_out_of_memory(error):
            raise RenderError(
                "loading the model",
                f"The {backend.label} weights in {backend.weights} do not fit in the GPU's "
                "free memory. Run this model on a larger GPU, or a smaller variant of it.",
            ) from error
        raise RenderError(
            "loading the model",
            f"The {backend.label} weights in {backend.weights} could not be loaded "
            f"({type(error).__name__}: {str(error)[:200]}).",
        ) from error
    return pipeline


def forget_pipelines() -> None:
    """Let go of every pipeline kept warm in this process, and of what torch compiled for
    them, freeing their GPU memory (the next clip loads its pipeline again)."""
    import torch

    _warm.clear()
    torch.compiler.reset()
    _release_memory()


def _release_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _save_memory(pipeline: Any) -> None:
    """Turn on what lets ``pipeline`` fit a smaller GPU at some cost in speed: the VAE
    decodes in tiles, and on a GPU each model waits in CPU memory until its turn
    (``enable_model_cpu_offload``, which needs accelerate). It stays on for later clips."""
    vae = getattr(pipeline, "vae", None)
    if vae is not None and hasattr(vae, "enable_tiling"):
        vae.enable_tiling()
    if settings.GPU_DEVICE.startswith("cuda"):
        pipeline.enable_model_cpu_offload(device=settings.GPU_DEVICE)


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
    backend: GpuClipBackend,
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
        "negative_prompt": "",
        "height": height,
        "width": width,
        "num_frames": frames,
        "num_inference_steps": steps,
        "guidance_scale": guidance,
        "generator": torch.Generator(device="cpu").manual_seed(request.seed),
        "output_type": "np",
    }
    if backend.pipeline_class == "WanImageToVideoPipeline":
        return {**common, "image": first, "last_image": last}
    from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

    conditions = [LTXVideoCondition(image=first, frame_index=0)]
    if last is not None:
        conditions.append(LTXVideoCondition(image=last, frame_index=frames - 1))
    return {**common, "conditions": conditions}


def _run_pipeline(
    model: Model, pipeline: Any, call: Callable[[], Any], *, fit: Callable[[BaseException], None]
) -> Any:
    """``call()`` (one run of ``model``'s ``pipeline``), freeing GPU memory after a cancel or a
    failure. When the GPU runs out of memory, the other warm models make way and it runs
    again; with none left, ``fit(error)`` either raises ``RenderError`` or makes the
    pipeline fit, and it runs once more."""
    while True:
        # A cancelled or failed run leaves the first-block cache's last residuals behind.
        pipeline.maybe_free_model_hooks()
        try:
            return call()
        except RenderCanceled:
            _release_memory()
            raise
        except Exception as error:
            _release_memory()
            if not _is_out_of_memory(error):
                raise
            if _let_others_go(model):
                logger.warning("Out of GPU memory; again with only %s kept.", model.label)
            else:
                fit(error)


def _is_out_of_memory(error: BaseException) -> bool:
    import torch

    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def render_clip(
    backend: GpuClipBackend, request: ClipRequest, *, workdir: Path, progress: ProgressCallback
) -> RenderedClip:
    """Render ``request`` with ``backend`` (see ``GpuClipBackend.render``), one clip at a time
    per process: a second waits for the GPU ("waiting for the GPU"), and may be cancelled
    while it waits."""
    if not _gpu.acquire(blocking=False):
        progress("waiting for the GPU", 0.0)
        while not _gpu.acquire(timeout=1.0):
            progress("waiting for the GPU", 0.0)
    try:
        with _Heartbeat(progress) as beating:
            return _render_clip(backend, request, workdir=workdir, progress=beating)
    finally:
        _gpu.release()


#: Seconds between repeats of the latest progress while a call gives none of its own.
HEARTBEAT_SECONDS = 1.0


class _Heartbeat:
    """The render's progress callback, repeated every ``HEARTBEAT_SECONDS`` from a second
    thread while the render sits in a long call with no callback of its own (importing torch,
    loading the weights, the VAE decoding every frame), so the sweeper does not take a slow
    GPU for a dead worker. A cancel it meets is raised by the render's next own report."""

    def __init__(self, progress: ProgressCallback) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self._latest: tuple[str, float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="gpu-heartbeat", daemon=True)

    def __call__(self, stage: str, fraction: float) -> None:
        with self._lock:
            self._latest = (stage, fraction)
            self._progress(stage, fraction)

    def _beat(self) -> None:
        from django.db import connections

        try:
            while not self._stop.wait(HEARTBEAT_SECONDS):
                with self._lock:
                    if self._latest is not None:
                        self._progress(*self._latest)
        except RenderCanceled:
            return
        except Exception:
            # A beat that fails (the database away for a moment) must not end the render.
            logger.warning("The GPU render's heartbeat stopped.", exc_info=True)
        finally:
            connections.close_all()  # this thread's own database connection

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


#: The share of a clip's progress that drawing its keyframes takes (both, when both are drawn).
_KEYFRAME_SHARE = 0.1


def _part(progress: ProgressCallback, start: float, end: float) -> ProgressCallback:
    """``progress`` for one part of a job, which reports its own fraction 0..1 as
    ``start``..``end`` of the whole."""

    def report(stage: str, fraction: float) -> None:
        progress(stage, start + (end - start) * fraction)

    return report


def _reference_image(path: Path, width: int, height: int, *, stage: str) -> Image.Image:
    """A reference photo as RGB, scaled to about the keyframe's size (FLUX.2 wants each side
    at least 64 pixels)."""
    try:
        with Image.open(path) as image:
            photo = image.convert("RGB")
    except OSError as error:
        raise RenderError(stage, f"A reference photo could not be read: {error}") from error
    scale = max(min(width / photo.width, height / photo.height), 64 / min(photo.size))
    size = (max(64, round(photo.width * scale)), max(64, round(photo.height * scale)))
    resized: Image.Image = photo.resize(size, Image.Resampling.LANCZOS)
    return resized


def draw_keyframe(
    model: GpuKeyframeModel,
    *,
    prompt: str,
    seed: int,
    photos: list[Path],
    size: tuple[int, int],
    workdir: Path,
    progress: ProgressCallback,
    which: str = "opening",
) -> Path:
    """Draw a keyframe with ``model`` at ``size`` (width, height in pixels): the characters
    of ``photos`` (the first ``model.max_references``) in the scene ``prompt`` describes,
    from ``seed``. ``which`` ("opening" or "closing") names the frame in the stages "loading
    the keyframe model" and "drawing the opening frame: step i of N"; a cancel takes effect
    between steps. Returns the PNG's path in ``workdir``. Raises ``RenderError`` (stage
    "drawing the opening frame" or "... closing frame") for no photo, a photo that cannot be
    read, a model no longer ready, or no GPU memory left."""
    import torch

    stage = f"drawing the {which} frame"
    width, height = size
    photos = photos[: model.max_references]
    if not photos:
        raise RenderError(stage, "The character has no photo to draw from.")
    # The operator may have changed the settings since the job was made.
    problem = model.local_problem()
    if problem:
        raise RenderError(stage, problem)
    if not is_warm(model):
        progress("loading the keyframe model", 0.0)
    pipeline, _ = warm_pipeline(model)
    references = [_reference_image(p, width, height, stage=stage) for p in photos]
    steps, guidance = model.steps_and_guidance()

    def on_step_end(pipe: Any, index: int, timestep: Any, tensors: dict[str, Any]) -> Any:
        progress(f"{stage}: step {index + 1} of {steps}", (index + 1) / steps)
        return tensors

    def draw() -> Any:
        return pipeline(
            prompt=prompt, image=references, height=height, width=width,
            num_inference_steps=steps, guidance_scale=guidance,
            generator=torch.Generator(device="cpu").manual_seed(seed),
            callback_on_step_end=on_step_end,
        )  # fmt: skip

    def fit(error: BaseException) -> None:
        raise RenderError(
            stage,
            f"The GPU ran out of memory drawing a {width}x{height} keyframe. Open on the "
            "photos instead of drawn frames.",
        ) from error

    progress(stage, 0.0)
    output = _run_pipeline(model, pipeline, draw, fit=fit)
    path = workdir / f"{which}-keyframe.png"
    output.images[0].save(path, "PNG")
    return path


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
    from .gpu_keyframes import GpuKeyframeModel

    wanted = [
        (which, key, prompt, seed)
        for which, key, prompt, seed in (
            ("opening", "first", drawing.opening, drawing.seed),
            ("closing", "last", drawing.closing, drawing.seed + 1),
        )
        if prompt
    ]
    drawn: dict[str, Path] = {}
    for index, (which, key, prompt, seed) in enumerate(wanted):
        drawn[key] = draw_keyframe(
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
    backend: GpuClipBackend, request: ClipRequest, *, workdir: Path, progress: ProgressCallback
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
    pipeline, speed_ups = warm_pipeline(backend)
    warm = _warm[_key(backend)]
    prompt_stage = "encoding the prompt"
    if "regional compile" in speed_ups and not warm.used:
        # Compiling takes about a minute, the prompt a moment: name the long part.
        prompt_stage = "compiling the model (first clip)"
    arguments = _inputs(
        backend, request, (width, height), frames, needs_last=_needs_last_frame(pipeline)
    )
    steps = arguments["num_inference_steps"]

    def on_step_end(pipe: Any, index: int, timestep: Any, tensors: dict[str, Any]) -> Any:
        # Called after every denoising step: progress, and a cancelled job stops here.
        done = index + 1
        span = _DENOISE_END - _DENOISE_START
        progress(f"denoising step {done} of {steps}", _DENOISE_START + span * done / steps)
        if done == steps:
            progress("decoding", _DENOISE_END)
        return tensors

    saving_memory = False

    def denoise() -> Any:
        progress(prompt_stage, 0.05)
        # The same seed on every try: a retry makes the clip the first attempt would have.
        arguments["generator"].manual_seed(request.seed)
        return pipeline(**arguments, callback_on_step_end=on_step_end)

    def fit(error: BaseException) -> None:
        nonlocal saving_memory
        if saving_memory:
            raise RenderError(
                "denoising",
                f"The GPU ran out of memory for a {width}x{height} clip of {frames} frames, "
                "even with VAE tiling and offloading. Try LTX-Video, the draft preset or a "
                f"smaller {backend.size_setting}.",
            ) from error
        logger.warning("Out of GPU memory; once more with VAE tiling and offloading.")
        _save_memory(pipeline)
        saving_memory = True

    started = time.monotonic()
    output = _run_pipeline(backend, pipeline, denoise, fit=fit)
    warm.used = True
    gpu_seconds = time.monotonic() - started + keyframe_seconds
    video = np.asarray(output.frames[0])
    pictures = (np.clip(video, 0.0, 1.0) * 255).round().astype(np.uint8)
    progress("encoding the video", _ENCODE_START)
    video_path = workdir / "video.mp4"
    encode_video(pictures, fps=backend.fps, path=video_path)
    poster_path, last_frame_path = workdir / "poster.jpg", workdir / "last-frame.jpg"
    Image.fromarray(pictures[len(pictures) // 3]).save(poster_path, "JPEG", quality=88)
    Image.fromarray(pictures[-1]).save(last_frame_path, "JPEG", quality=92)
    return RenderedClip(
        video_path=video_path,
        poster_path=poster_path,
        last_frame_path=last_frame_path,
        duration_seconds=len(pictures) / backend.fps,
        metadata={
            "width": int(pictures.shape[2]),
            "height": int(pictures.shape[1]),
            "fps": backend.fps,
            "frames": len(pictures),
            "steps": steps,
            "gpu_seconds": round(gpu_seconds, 2),
            "device": settings.GPU_DEVICE,
            "memory_saving": saving_memory,
            "speed_ups": speed_ups,
        },
        drawn_keyframes=drawn,
    )


def encode_video(pictures: np.ndarray, *, fps: int, path: Path) -> None:
    """Encode ``pictures`` (frames × height × width × 3, uint8 RGB) as H.264 yuv420p MP4 at
    ``fps``, ``moov`` first. Raises ``RenderError`` ("encoding the video") when ffmpeg fails."""
    from .assembly import ffmpeg_exe

    count, height, width, _ = pictures.shape
    # yuv420p needs even sizes: pad a pixel where the model's size is odd.
    pad = f"pad={width + width % 2}:{height + height % 2}"
    command = [
        ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error", "-f", "rawvideo",
        "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-",
        "-vf", pad, "-c:v", "libx264", "-preset", settings.ANIMATIC_X264_PRESET, "-crf", "18",
        "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path),
    ]  # fmt: skip
    done = subprocess.run(command, input=pictures.tobytes(), capture_output=True, check=False)
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip()[-300:]
        raise RenderError("encoding the video", f"ffmpeg could not encode the clip: {tail}")
