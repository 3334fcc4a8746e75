"""The warm cache of diffusers pipelines on a gpu worker, and the GPU memory they share. Imports
torch and diffusers when it runs, so only a worker serving the ``gpu`` queue runs it.

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

from ..video import RenderCanceled, RenderError
from .readiness import weights_bytes
from .speed import speed_up
from .status import publish_statuses
from .warm import GpuModel, Warm, key, warm

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

logger = logging.getLogger(__name__)


def component_dtypes(model: GpuModel, device: str) -> Any:
    """The dtype ``model``'s pipeline loads in on ``device``: bf16 on a GPU (the models' own
    precision), float32 for the components the model keeps in full precision
    (``full_precision``, as its authors' example does), and float32 for all on the CPU, which
    lacks fast bf16. A dict by component with a "default", as diffusers'
    ``from_pretrained(dtype=...)`` takes it, where they differ."""
    import torch

    if not device.startswith("cuda"):
        return torch.float32
    if not model.full_precision:
        return torch.bfloat16
    return {"default": torch.bfloat16, **dict.fromkeys(model.full_precision, torch.float32)}


def _quiet() -> None:
    # Loading bars are for a terminal; a worker logs one line per stage instead.
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def warm_pipeline(backend: GpuModel) -> tuple[Any, list[str]]:
    """``backend``'s pipeline on ``GPU_DEVICE``, loaded now (with the speed-ups of
    ``speed.speed_up``) or kept from an earlier clip; returns it and the speed-ups applied,
    in words. Makes room first (``_make_room``). Raises ``RenderError`` ("loading the model")
    when the weights will not load, or do not fit even with no other pipeline kept."""
    device = settings.GPU_DEVICE
    place = key(backend)
    if place in warm:
        warm.move_to_end(place)
        return warm[place].pipeline, warm[place].speed_ups
    _make_room(weights_bytes(Path(backend.weights)) if backend.weights else 0)
    pipeline = _load(backend, device)
    pipeline.set_progress_bar_config(disable=True)
    speed_ups = speed_up(
        pipeline, device=device, cache=backend.first_block_cache, masked=backend.attention_mask
    )
    warm[place] = Warm(backend, pipeline, speed_ups, size=_loaded_bytes(pipeline))
    logger.info(
        "Loaded %s from %s (%.1f GB); warm: %s",
        backend.label, backend.weights, warm[place].size / 1e9, ", ".join(k[1] for k in warm),
    )  # fmt: skip
    _publish([backend])
    return pipeline, speed_ups


def _publish(models: list[GpuModel]) -> None:
    """Publish the statuses of ``models`` (loaded or let go) now, so the model status page
    shows what this worker keeps loaded without waiting for the next ``GPU_STATUS_SECONDS``."""
    try:
        publish_statuses(models)
    except Exception:
        # The cache away for a moment must not fail a clip: the next refresh publishes.
        logger.warning("Publishing the GPU status failed.", exc_info=True)


def _loaded_bytes(pipeline: Any) -> int:
    """Bytes the parameters and buffers of ``pipeline``'s models take where they are."""
    import torch

    return sum(
        tensor_bytes(tensor)
        for component in pipeline.components.values()
        if isinstance(component, torch.nn.Module)
        for tensor in (*component.parameters(), *component.buffers())
    )


def tensor_bytes(tensor: Any) -> int:
    """Bytes ``tensor`` holds. A wrapper tensor, such as torchao's FP8 or int8 weights, says
    the dtype it stands for (bf16: 2 bytes an element); what it holds are the tensors inside
    it (the 1-byte data and its scales), listed by PyTorch's ``__tensor_flatten__`` protocol
    (torch.utils._python_dispatch)."""
    from torch.utils._python_dispatch import is_traceable_wrapper_subclass

    if is_traceable_wrapper_subclass(tensor):
        names, _ = tensor.__tensor_flatten__()
        return sum(tensor_bytes(getattr(tensor, name)) for name in names)
    return int(tensor.numel() * tensor.element_size())


def warm_memory_budget(device: str) -> int:
    """Bytes the warm pipelines' weights may take together on ``device``:
    ``GPU_WARM_MEMORY_SHARE`` of the GPU's memory less what other processes hold on it now
    (``torch.cuda.mem_get_info``: the driver's free and total bytes), so two worker processes
    on one card share it rather than each counting on all of it; on the CPU, the share of
    this machine's memory."""
    if device.startswith("cuda"):
        import torch

        free, total = torch.cuda.mem_get_info(device)
        others = int(total - free - torch.cuda.memory_reserved(device))
        return max(0, int(settings.GPU_WARM_MEMORY_SHARE * total) - max(0, others))
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(settings.GPU_WARM_MEMORY_SHARE * total)


def _make_room(wanted: int) -> None:
    """Let go of the least recently used warm pipelines until one of ``wanted`` bytes more
    stays within ``GPU_WARM_PIPELINES`` and the memory budget (``warm_memory_budget``)."""
    limit = max(1, settings.GPU_WARM_PIPELINES)
    budget = warm_memory_budget(settings.GPU_DEVICE)
    gone = []
    while warm and (len(warm) >= limit or sum(w.size for w in warm.values()) + wanted > budget):
        place, kept = warm.popitem(last=False)
        gone.append(kept.model)
        logger.info("Letting %s go to make room for the next model.", place[1])
        release_memory()
    if gone:
        _publish(gone)


def _let_others_go(backend: GpuModel) -> bool:
    """Let go of every warm pipeline but ``backend``'s; returns whether there were any."""
    others = [place for place in warm if place != key(backend)]
    gone = [warm.pop(place).model for place in others]
    for place in others:
        logger.info("Letting %s go: the GPU ran out of memory.", place[1])
    if gone:
        release_memory()
        _publish(gone)
    return bool(gone)


def _load(backend: GpuModel, device: str) -> Any:
    """``backend``'s pipeline from its folder, on ``device``; when it does not fit, the other
    warm pipelines make way and it loads once more. Raises ``RenderError`` ("loading the
    model") when the weights will not load or do not fit even then."""
    import diffusers

    pipeline_class = getattr(diffusers, backend.pipeline_class)
    _quiet()
    try:
        pipeline = pipeline_class.from_pretrained(
            backend.weights, dtype=component_dtypes(backend, device), local_files_only=True
        )
        _shift_scheduler(pipeline, backend.scheduler_shift())
        pipeline.to(device)
    except Exception as error:  # diffusers raises OSError, ValueError, safetensors' own...
        release_memory()
        # Another process, or an estimate short of the truth: the others make way, once.
        if is_out_of_memory(error) and _let_others_go(backend):
            return _load(backend, device)
        logger.exception("Loading %s from %s failed", backend.name, backend.weights)
        if is_out_of_memory(error):
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

    warm.clear()
    torch.compiler.reset()
    release_memory()


def release_memory() -> None:
    """Collect garbage and hand torch's cached GPU memory back to the card."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def save_memory(pipeline: Any) -> None:
    """Turn on what lets ``pipeline`` fit a smaller GPU at some cost in speed: the VAE decodes
    in tiles, and on a GPU the models' weights wait in CPU memory and come to the GPU a block
    at a time, the next one while the current one runs (diffusers' group offload with a
    stream). Whole-model CPU offload would not do: it keeps the transformer, the largest
    model, on the GPU while it denoises. It stays on for later clips."""
    import torch

    vae = getattr(pipeline, "vae", None)
    if vae is not None and hasattr(vae, "enable_tiling"):
        vae.enable_tiling()
    if settings.GPU_DEVICE.startswith("cuda"):
        pipeline.enable_group_offload(
            onload_device=torch.device(settings.GPU_DEVICE),
            offload_device=torch.device("cpu"),
            offload_type="block_level",
            num_blocks_per_group=1,
            use_stream=True,
        )


def run_pipeline(
    model: GpuModel, pipeline: Any, call: Callable[[], Any], *, fit: Callable[[BaseException], None]
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
            release_memory()
            raise
        except Exception as error:
            if not is_out_of_memory(error):
                release_memory()
                raise
            out_of_memory = error
            # Its traceback holds the failed step's frames and their tensors: let go of it,
            # and free the memory once out of this block, or the memory stays taken.
            out_of_memory.__traceback__ = None
        release_memory()
        if _let_others_go(model):
            logger.warning("Out of GPU memory; again with only %s kept.", model.label)
        else:
            fit(out_of_memory)


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is the GPU (or torch on the CPU) running out of memory."""
    import torch

    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def _shift_scheduler(pipeline: Any, shift: float | None) -> None:
    """Give ``pipeline``'s flow-matching scheduler the ``shift`` (None: leave it): UniPC calls
    it ``flow_shift`` (Wan's checkpoints), flow-match Euler ``shift``."""
    if shift is None:
        return
    config = pipeline.scheduler.config
    name = "flow_shift" if "flow_shift" in config else "shift" if "shift" in config else None
    if name is not None:
        pipeline.scheduler = type(pipeline.scheduler).from_config(config, **{name: shift})
