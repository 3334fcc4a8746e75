"""The GPU keyframe model: FLUX.2 [klein] (``Flux2KleinPipeline``, Apache-2.0 weights in the
4B variants) draws a character-consistent keyframe from one to three reference photos and a
prompt, on the gpu worker. A dream on a local GPU backend can open on it ("Open on a frame
drawn from the photos"), and a film's scenes open and close on drawn keyframes ("Draw the
keyframes on the GPU"). Torch-free: the drawing is ``draw.draw_keyframe``.

FLUX.2 [klein] takes reference images for editing and multi-reference generation, and comes
step- and guidance-distilled (4 steps, no guidance) or as a Base model (50 steps, guidance
4.0): https://github.com/black-forest-labs/flux2 ("Model Overview") and diffusers'
``Flux2KleinPipeline``; ``model_index.json`` says which (``is_distilled``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from django.conf import settings

from .readiness import check_weights, device_problem, speed_problem
from .status import gpu_status


class GpuKeyframeModel:
    """FLUX.2 [klein] in the folder ``KEYFRAME_WEIGHTS`` names, drawing at the clip's size."""

    name: ClassVar[str] = "flux2-klein"
    label: ClassVar[str] = "FLUX.2 [klein] keyframes (local GPU)"
    pipeline_class: ClassVar[str] = "Flux2KleinPipeline"
    accepted_models: ClassVar[tuple[str, ...]] = ("Flux2KleinPipeline",)
    weights_setting: ClassVar[str] = "KEYFRAME_WEIGHTS"
    #: It draws at the size of the clip it opens, so it has no size of its own.
    size_setting: ClassVar[str] = ""
    #: Reference photos it takes (the character's, up to three).
    max_references: ClassVar[int] = 3
    #: A distilled model takes 4 steps: nothing for a first-block cache to skip.
    first_block_cache: ClassVar[bool] = False
    #: Its attention takes no mask: FlashAttention may run it.
    attention_mask: ClassVar[bool] = False
    #: Every component in bf16.
    full_precision: ClassVar[tuple[str, ...]] = ()

    @property
    def weights(self) -> str:
        """The weights folder the settings name ("" when none)."""
        return str(settings.KEYFRAME_WEIGHTS or "")

    def scheduler_shift(self) -> float | None:
        """None: FLUX.2 [klein] keeps its checkpoint's scheduler."""
        return None

    def local_problem(self) -> str | None:
        """Why this machine cannot draw keyframes, or None: the weights folder and its
        model, the attention kernel, the device. Reads files only; imports no torch."""
        if not self.weights:
            return "No weights folder is set (KEYFRAME_WEIGHTS)."
        problem = check_weights(
            Path(self.weights), accepted=self.accepted_models, label="FLUX.2 [klein]"
        )
        return problem or speed_problem() or device_problem(settings.GPU_DEVICE)

    def steps_and_guidance(self) -> tuple[int, float]:
        """Denoising steps and guidance scale: ``KEYFRAME_STEPS`` when set, else the model's
        own (4 steps and no guidance for the distilled model, 50 and 4.0 for Base)."""
        try:
            index = json.loads((Path(self.weights) / "model_index.json").read_text("utf-8"))
            distilled = bool(index.get("is_distilled", False))
        except (OSError, ValueError):
            distilled = False
        steps, guidance = (4, 1.0) if distilled else (50, 4.0)
        return (settings.KEYFRAME_STEPS or steps), guidance


def keyframe_model() -> GpuKeyframeModel | None:
    """The keyframe model when ``KEYFRAME_WEIGHTS`` names a folder, else None."""
    return GpuKeyframeModel() if settings.KEYFRAME_WEIGHTS else None


def keyframe_problem() -> str | None:
    """Why a dream cannot open on a drawn keyframe now, or None when it can: no model
    configured, or what the gpu worker (or this machine) found wrong with it."""
    model = keyframe_model()
    if model is None:
        return "No keyframe model is configured (KEYFRAME_WEIGHTS)."
    status = gpu_status(model)
    return None if status.ready else f"The keyframe model is not ready: {status.detail}"
