"""Drawing a keyframe with the GPU keyframe model (``keyframes.GpuKeyframeModel``): the cast's
photos in the scene a prompt describes. Imports torch when it runs (a gpu worker only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from ..video import ProgressCallback, RenderError
from .keyframes import GpuKeyframeModel
from .pipelines import run_pipeline, warm_pipeline
from .warm import is_warm


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
    output = run_pipeline(model, pipeline, draw, fit=fit)
    path = workdir / f"{which}-keyframe.png"
    output.images[0].save(path, "PNG")
    return path
