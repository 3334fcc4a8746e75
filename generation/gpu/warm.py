"""Which pipelines this process keeps loaded (warm), and what a model kept warm declares. No
torch here: the status a worker publishes reads it (``status.local_status``), and the warm cache
itself (``pipelines``) fills it."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from django.conf import settings


class GpuModel(Protocol):
    """What a model on the gpu worker declares (a clip backend, or the keyframe model):
    its name and label, the diffusers pipeline class and weights folder it loads, the
    setting of its frame size ("" when it has none), whether a first-block cache applies,
    whether its attention takes a mask, and why it cannot run here (``local_problem``, None
    when it can)."""

    name: ClassVar[str]
    label: ClassVar[str]
    pipeline_class: ClassVar[str]
    size_setting: ClassVar[str]
    first_block_cache: ClassVar[bool]
    attention_mask: ClassVar[bool]
    full_precision: ClassVar[tuple[str, ...]]

    @property
    def weights(self) -> str: ...

    def local_problem(self) -> str | None: ...

    def scheduler_shift(self) -> float | None: ...


@dataclass
class Warm:
    """A loaded pipeline: the ``model`` it is of, the diffusers ``pipeline``, the speed-ups
    applied (in words), the bytes its weights take on the device, and whether a clip has run
    since loading (the first one compiles, when compile is on)."""

    model: GpuModel
    pipeline: Any
    speed_ups: list[str]
    size: int = 0
    used: bool = False


#: The warm pipelines by ``key``, least recently used first.
warm: OrderedDict[tuple[str, str, str], Warm] = OrderedDict()


def key(model: GpuModel) -> tuple[str, str, str]:
    """Where ``model``'s pipeline is kept: its class, weights folder and ``GPU_DEVICE``."""
    return (model.pipeline_class, model.weights, settings.GPU_DEVICE)


def is_warm(model: GpuModel) -> bool:
    """Whether ``model``'s pipeline is loaded in this process on ``GPU_DEVICE``."""
    return key(model) in warm


def loaded_bytes(model: GpuModel) -> int | None:
    """Bytes ``model``'s weights take where this process keeps them loaded, or None when it
    does not."""
    kept = warm.get(key(model))
    return kept.size if kept else None
