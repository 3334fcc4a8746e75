"""The speed-ups a gpu worker applies to a pipeline once, when it loads it (docs/gpu.md,
"Speed"): the fastest attention kernel installed on this machine, a first-block cache, and
regional ``torch.compile`` of the transformer's repeated blocks. Imports torch and diffusers,
so only ``gpu_render`` imports it.

bf16 itself is chosen where the weights load (``gpu_render``). None of these downloads
anything: diffusers' ``*_hub`` attention kernels fetch code from the Hub, and are refused.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from django.conf import settings

from .gpu_models import attention_problem
from .video import RenderError

logger = logging.getLogger(__name__)

# The kernels "auto" tries, fastest first, each with the module that must be installed (None:
# PyTorch's own). All compute exact attention; FlashAttention-3 needs a Hopper GPU (sm90),
# cuDNN's a GPU of sm80 or later. diffusers' names (models/attention_dispatch.py).
_KERNELS: tuple[tuple[str, str | None, int], ...] = (
    ("_flash_3", "flash_attn_interface", 90),
    ("flash", "flash_attn", 80),
    ("_native_cudnn", None, 80),
)


def attention_kernel(device: str) -> str:
    """The diffusers attention backend for ``device`` named by ``GPU_ATTENTION``: "auto" picks
    the fastest exact kernel installed (FlashAttention-3, FlashAttention-2, cuDNN's), else
    PyTorch's default ("native"); the CPU always gets "native". Raises ``RenderError``
    ("loading the model") for a ``*_hub`` kernel, which would download code."""
    chosen = settings.GPU_ATTENTION.strip() or "auto"
    problem = attention_problem(chosen)
    if problem:
        raise RenderError("loading the model", problem)
    if chosen != "auto":
        return chosen
    if not device.startswith("cuda"):
        return "native"
    import torch

    major, minor = torch.cuda.get_device_capability(device)
    capability = major * 10 + minor
    for name, module, needs in _KERNELS:
        if capability < needs:
            continue
        if module is None or importlib.util.find_spec(module) is not None:
            return name
    return "native"


def speed_up(pipeline: Any, *, device: str, cache: bool = True) -> list[str]:
    """Apply the speed-ups to ``pipeline`` (already on ``device``) and return what was applied,
    in words, for the worker's log and the clip's metadata: the attention kernel
    (``GPU_ATTENTION``), a first-block cache (``GPU_FIRST_BLOCK_CACHE``, a threshold; 0 is
    off; never without ``cache``) and regional compile (``GPU_COMPILE``, on a GPU only).
    Raises ``RenderError`` ("loading the model") when a kernel that was asked for is not
    installed."""
    applied: list[str] = []
    transformer = getattr(pipeline, "transformer", None)
    if transformer is None:
        return applied
    kernel = attention_kernel(device)
    if kernel != "native":
        try:
            transformer.set_attention_backend(kernel)
        except (ImportError, RuntimeError, ValueError) as error:
            raise RenderError(
                "loading the model",
                f"The attention kernel {kernel} (GPU_ATTENTION) cannot run here: {error}",
            ) from error
    applied.append(f"attention {kernel}")
    threshold = settings.GPU_FIRST_BLOCK_CACHE if cache else 0.0
    blocks = [m for m in transformer.modules() if type(m).__name__ in transformer._repeated_blocks]
    if len(blocks) < 2:
        threshold = 0.0  # the cache keeps the first block apart from the rest: none to skip
    if threshold > 0:
        from diffusers import FirstBlockCacheConfig

        # Skips the later blocks on a step whose first block changed its output by less
        # than the threshold (mean absolute difference, relative), reusing the last
        # step's residual. Chen et al., ParaAttention's "First Block Cache".
        config = FirstBlockCacheConfig(threshold=threshold)  # type: ignore[no-untyped-call]
        transformer.enable_cache(config)
        applied.append(f"first-block cache {threshold:g}")
    if settings.GPU_COMPILE and device.startswith("cuda"):
        # The cache decides per step in Python, a graph break: whole-graph compile only
        # without it.
        transformer.compile_repeated_blocks(fullgraph=threshold <= 0)
        applied.append("regional compile")
    logger.info("GPU speed-ups: %s", ", ".join(applied))
    return applied
