"""The speed-ups a gpu worker applies to a pipeline once, when it loads it (docs/gpu.md,
"Speed"): FP8 matmuls where the card has them (``GPU_FP8``), the fastest attention kernel
installed on this machine, a first-block cache, and regional ``torch.compile`` of the
transformer's repeated blocks. Imports torch and diffusers, when it runs, in a gpu worker only.

bf16 itself is chosen where the weights load (``pipelines``). None of these downloads
anything: diffusers' ``*_hub`` attention kernels fetch code from the Hub, and are refused.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from django.conf import settings

from ..video import RenderError
from .readiness import attention_problem, fp8_problem

logger = logging.getLogger(__name__)

# The kernels "auto" tries, fastest first: diffusers' name, the module that must be installed,
# and the compute capabilities it runs on. Both compute exact attention, and neither takes an
# attention mask. FlashAttention-3 is built for Hopper (sm90) only; FlashAttention-2 for sm80
# and later (Dao-AILab/flash-attention's README). Anything else gets PyTorch's own
# scaled_dot_product_attention ("native"), which picks its best kernel per call.
_KERNELS: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("_flash_3", "flash_attn_interface", (90, 90)),
    ("flash", "flash_attn", (80, 999)),
)


def attention_kernel(device: str, *, masked: bool = False) -> str:
    """The diffusers attention backend for a model on ``device`` named by ``GPU_ATTENTION``:
    "auto" picks FlashAttention-3 on a Hopper GPU, else FlashAttention-2, where installed and
    the model's attention takes no mask (``masked``); else PyTorch's own ("native"). The CPU
    always gets "native". Raises ``RenderError`` ("loading the model") for a ``*_hub`` kernel,
    which would download code, or a FlashAttention kernel named for a masked model."""
    chosen = settings.GPU_ATTENTION.strip() or "auto"
    problem = attention_problem(chosen, masked=masked)
    if problem:
        raise RenderError("loading the model", problem)
    if chosen != "auto":
        return chosen
    if not device.startswith("cuda") or masked:
        return "native"
    import torch

    major, minor = torch.cuda.get_device_capability(device)
    capability = major * 10 + minor
    for name, module, (lowest, highest) in _KERNELS:
        if lowest <= capability <= highest and importlib.util.find_spec(module) is not None:
            return name
    return "native"


#: FP8 tensor cores: compute capability 8.9 (Ada Lovelace) and later, such as Hopper's 9.0
#: (NVIDIA's CUDA C++ Programming Guide, "Compute Capabilities"); torchao's float8 dynamic
#: quantization refuses anything older.
FP8_CAPABILITY = (8, 9)


def fp8_wanted(device: str) -> bool:
    """Whether the transformer's linear layers run in FP8 on ``device``: ``GPU_FP8`` "on", or
    "auto" where it can (an NVIDIA GPU of ``FP8_CAPABILITY`` or later, torchao installed).
    Raises ``RenderError`` ("loading the model") when "on" cannot be honoured."""
    mode = settings.GPU_FP8
    problem = fp8_problem(mode, device)
    if problem:
        raise RenderError("loading the model", problem)
    if mode == "off" or not device.startswith("cuda"):
        return False
    if importlib.util.find_spec("torchao") is None:
        logger.info("FP8 skipped: the torchao package is not installed.")
        return False
    import torch

    capability = torch.cuda.get_device_capability(device)
    if capability < FP8_CAPABILITY:
        reason = (
            f"FP8 needs a GPU of compute capability 8.9 or later (Ada Lovelace, Hopper); "
            f"this one is {capability[0]}.{capability[1]}."
        )
        if mode == "on":
            raise RenderError("loading the model", f"GPU_FP8=on: {reason} Use auto or off.")
        logger.info("FP8 skipped: %s", reason)
        return False
    return True


def fp8_layers(transformer: Any) -> list[str]:
    """The names of the linear layers FP8 is for: those inside the transformer's repeated
    blocks (the bulk of its work) whose two sides are multiples of 16, which FP8 matrix
    multiplication needs. Embeddings, norms and the output projection stay in bf16."""
    import torch

    blocks = [
        name
        for name, module in transformer.named_modules()
        if type(module).__name__ in (transformer._repeated_blocks or ())
    ]
    return [
        name
        for name, module in transformer.named_modules()
        if isinstance(module, torch.nn.Linear)
        and any(name.startswith(f"{block}.") for block in blocks)
        and module.in_features % 16 == 0
        and module.out_features % 16 == 0
    ]


def to_fp8(transformer: Any) -> int:
    """Quantize ``fp8_layers(transformer)`` in place to torchao's dynamic float8 (e4m3 weights
    and activations, one scale per row), which runs them on the GPU's FP8 tensor cores.
    Returns how many layers it changed. Needs torchao and a GPU of ``FP8_CAPABILITY``."""
    from torchao.quantization import (
        Float8DynamicActivationFloat8WeightConfig,
        PerRow,
        quantize_,
    )

    chosen = set(fp8_layers(transformer))
    quantize_(
        transformer,
        Float8DynamicActivationFloat8WeightConfig(granularity=PerRow()),
        filter_fn=lambda module, name: name in chosen,
    )
    return len(chosen)


def speed_up(pipeline: Any, *, device: str, cache: bool = True, masked: bool = False) -> list[str]:
    """Apply the speed-ups to ``pipeline`` (already on ``device``) and return what was applied,
    in words, for the worker's log and the clip's metadata: FP8 (``GPU_FP8``), the attention
    kernel (``GPU_ATTENTION``; one that takes a mask when ``masked``), a first-block cache
    (``GPU_FIRST_BLOCK_CACHE``, a threshold; 0, the default, is off; never without ``cache``)
    and regional compile (``GPU_COMPILE``, on a GPU only), each on every transformer the
    pipeline has (Wan 2.2's ``transformer_2`` too). Raises ``RenderError`` ("loading the
    model") when a kernel or FP8 that was asked for cannot run here."""
    transformers = [
        model
        for model in (
            getattr(pipeline, "transformer", None),
            getattr(pipeline, "transformer_2", None),
        )
        if model is not None
    ]
    if not transformers:
        return []
    fp8 = fp8_wanted(device)
    kernel = attention_kernel(device, masked=masked)
    applied: dict[str, None] = {}
    for transformer in transformers:
        for done in _speed_up_one(transformer, device=device, cache=cache, fp8=fp8, kernel=kernel):
            applied[done] = None
    logger.info("GPU speed-ups: %s", ", ".join(applied))
    return list(applied)


def _speed_up_one(
    transformer: Any, *, device: str, cache: bool, fp8: bool, kernel: str
) -> list[str]:
    applied: list[str] = []
    if fp8:
        applied.append(f"fp8 ({to_fp8(transformer)} layers)")
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
        transformer.enable_cache(FirstBlockCacheConfig(threshold=threshold))
        applied.append(f"first-block cache {threshold:g}")
    if settings.GPU_COMPILE and device.startswith("cuda"):
        # The cache decides per step in Python, a graph break: whole-graph compile only
        # without it.
        transformer.compile_repeated_blocks(fullgraph=threshold <= 0)
        applied.append("regional compile")
    return applied
