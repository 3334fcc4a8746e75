"""Whether this machine can run the GPU models, found without a GPU call or a torch import:
the weights folders (``check_weights``), the device (``device_problem``) and the speed and memory
settings (``speed_problem``). A worker and a web process alike call these."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

from django.conf import settings

#: diffusers' FlashAttention backends, which refuse an attention mask
#: (``models/attention_dispatch.py``).
FLASH_KERNELS = ("flash", "flash_varlen", "_flash_3", "_flash_varlen_3")


def attention_problem(kernel: str, *, masked: bool = False, label: str = "") -> str | None:
    """Why ``GPU_ATTENTION``'s ``kernel`` cannot be used (for the model ``label``, whose
    attention takes a mask when ``masked``), or None: diffusers' ``*_hub`` kernels download
    their code from the Hugging Face Hub, which a gpu worker never does, and FlashAttention's
    refuse the mask LTX-Video's cross-attention always passes."""
    kernel = kernel.strip()
    if kernel.endswith("_hub"):
        return (
            f"GPU_ATTENTION={kernel} downloads its kernel from the Hugging Face Hub, "
            "which a gpu worker never does. Install the kernel's package locally and name it "
            "without _hub, or use auto."
        )
    if masked and kernel in FLASH_KERNELS:
        return (
            f"{label or 'This model'} passes an attention mask, which GPU_ATTENTION={kernel} "
            "cannot take. Use auto (it picks a kernel each model can take) or native."
        )
    return None


#: What ``GPU_FP8`` may say: never, where it can run, or always (refused where it cannot).
FP8_MODES = ("off", "auto", "on")


def fp8_problem(mode: str, device: str) -> str | None:
    """Why ``GPU_FP8``'s ``mode`` cannot be honoured on ``device``, or None. Only "on" insists
    (an NVIDIA GPU and the torchao package); "auto" falls back to bf16 where FP8 cannot run.
    The GPU's compute capability (8.9 or later) is checked where the model loads
    (``speed``); this reads no GPU and imports no torch."""
    if mode not in FP8_MODES:
        return f"GPU_FP8 must be one of {', '.join(FP8_MODES)}, not {mode!r}."
    if mode != "on":
        return None
    if not device.startswith("cuda"):
        return "GPU_FP8=on needs an NVIDIA GPU; GPU_DEVICE is cpu. Use auto or off."
    if importlib.util.find_spec("torchao") is None:
        return (
            "GPU_FP8=on needs the torchao package on the gpu worker "
            "(pip install -r requirements-gpu.txt). Use auto or off."
        )
    return None


def speed_problem(*, masked: bool = False, label: str = "") -> str | None:
    """Why the speed and memory settings (``GPU_ATTENTION``, ``GPU_FP8``,
    ``GPU_WARM_MEMORY_SHARE``) cannot be honoured here for the model ``label`` (whose
    attention takes a mask when ``masked``), or None."""
    share = settings.GPU_WARM_MEMORY_SHARE
    if not 0 < share <= 1:
        return (
            f"GPU_WARM_MEMORY_SHARE is the share of the GPU's memory the models kept loaded "
            f"may take, more than 0 and at most 1 (like 0.5); it is {share:g}."
        )
    return attention_problem(settings.GPU_ATTENTION, masked=masked, label=label) or fp8_problem(
        settings.GPU_FP8, settings.GPU_DEVICE
    )


def check_weights(folder: Path, *, accepted: tuple[str, ...], label: str) -> str | None:
    """Why ``folder`` is not a diffusers pipeline folder of one of the ``accepted`` models
    (``model_index.json``'s ``_class_name``), or None when it is. Checks that it exists, is
    readable, is not empty, and has a folder for every component its index names. Weights
    that are there but damaged are found when the worker loads them."""
    try:
        if not folder.is_dir():
            return f"The weights folder {folder} does not exist."
        if not any(folder.iterdir()):
            return f"The weights folder {folder} is empty: copy the model's files into it."
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    except PermissionError:
        return f"The weights folder {folder} cannot be read (permission denied)."
    except FileNotFoundError:
        return f"The weights folder {folder} has no model_index.json: it is not a diffusers model."
    except OSError as error:  # a folder where the file should be, a disk error...
        return f"The model_index.json in {folder} cannot be read ({error.strerror or error})."
    except (ValueError, UnicodeDecodeError):
        return f"The model_index.json in {folder} is not valid JSON."
    model = index.get("_class_name") if isinstance(index, dict) else None
    if model not in accepted:
        return f"The weights folder {folder} holds a {model or 'unknown'} model, not {label}."
    for component, spec in index.items():
        if component.startswith("_") or not isinstance(spec, list) or spec[0] is None:
            continue
        part = folder / component
        if not part.is_dir():
            return f"The weights folder {folder} lacks its {component} folder."
        if not os.access(part, os.R_OK | os.X_OK):
            return f"The {component} folder in {folder} cannot be read (permission denied)."
    return None


def device_problem(device: str) -> str | None:
    """Why ``device`` ("cuda", "cuda:1", "cpu") is not usable here, or None. Reads what the
    NVIDIA driver shows (``/proc/driver/nvidia/gpus``); imports no torch. "cpu" is for tests
    and tiny models only: a real model there takes hours per clip."""
    if device == "cpu":
        return None
    if not device.startswith("cuda"):
        return f"GPU_DEVICE must be cuda, cuda:N or cpu, not {device!r}."
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", None)
    if visible in ("", "-1"):
        return "CUDA_VISIBLE_DEVICES hides every GPU from this worker."
    index = device.partition(":")[2]
    if index and not index.isdigit():
        return f"GPU_DEVICE must be cuda, cuda:N or cpu, not {device!r}."
    if index and visible is not None and int(index) >= len(visible.split(",")):
        # Numbered among the GPUs CUDA_VISIBLE_DEVICES leaves, not the machine's: found at
        # boot, not when the first clip loads its model.
        return (
            f"GPU_DEVICE is {device}, but CUDA_VISIBLE_DEVICES={visible} leaves this worker "
            f"{len(visible.split(','))} GPU(s), numbered from cuda:0."
        )
    gpus = Path("/proc/driver/nvidia/gpus")
    if not gpus.is_dir() or not any(gpus.iterdir()):
        return "This machine has no NVIDIA GPU (or its driver is not loaded)."
    return None


#: Files that hold a diffusers or transformers component's weights.
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")


def weights_bytes(folder: Path) -> int:
    """Bytes of the weight files the pipeline in ``folder`` loads: those in the component
    folders its ``model_index.json`` names (0 when it cannot be read). A full checkout of a
    model's repository also holds single-file checkpoints beside them, which a pipeline never
    loads (LTX-Video's holds several of 2B to 13B). About what the pipeline takes once loaded,
    more where the files are float32 and load in bf16: the estimate used to make room before
    loading it."""
    try:
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
        components = [
            folder / name
            for name, spec in index.items()
            if not name.startswith("_") and isinstance(spec, list) and spec[0] is not None
        ]
        return sum(
            path.stat().st_size
            for component in components
            for path in component.rglob("*")
            if path.suffix in _WEIGHT_SUFFIXES and path.is_file()
        )
    except (OSError, ValueError, AttributeError):
        return 0
