"""What a gpu worker found about each model it runs, published in the shared cache so that a web
process on another machine offers what that worker can render (``gpu_status``)."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from .warm import GpuModel, loaded_bytes


@dataclass(frozen=True)
class GpuStatus:
    """Whether a GPU backend can render here: ``ready``, else ``detail`` says why; ``host``
    is the machine that checked, at ``checked_at``; ``loaded_bytes``, what its weights take
    where that machine's gpu worker keeps the model loaded (None: not loaded)."""

    backend: str
    ready: bool
    detail: str = ""
    host: str = ""
    checked_at: datetime = field(default_factory=timezone.now)
    loaded_bytes: int | None = None


def status_key(backend: GpuModel) -> str:
    """The cache key of ``backend``'s published status."""
    # Every setting the check reads: a status found under other settings does not count.
    size = getattr(settings, backend.size_setting) if backend.size_setting else ""
    return (
        f"gpu-status:{backend.name}:{backend.weights}:{size}:{settings.GPU_DEVICE}:"
        f"{settings.GPU_ATTENTION}:{settings.GPU_FP8}:{settings.GPU_WARM_MEMORY_SHARE}"
    )


def local_status(backend: GpuModel) -> GpuStatus:
    """What this machine finds for ``backend`` now (``GpuClipBackend.local_problem``), and
    whether this process keeps it loaded."""
    problem = backend.local_problem()
    return GpuStatus(
        backend=backend.name,
        ready=problem is None,
        detail=problem or "",
        host=socket.gethostname(),
        loaded_bytes=loaded_bytes(backend),
    )


def publish_statuses(models: Sequence[GpuModel]) -> list[GpuStatus]:
    """Check ``models`` on this machine and publish the result in the shared cache, where web
    processes read it (``gpu_status``) for three ``GPU_STATUS_SECONDS``. A gpu worker calls it
    for every model when it boots and every ``GPU_STATUS_SECONDS`` while it runs
    (``backends.gpu_models``), and for a model it loads or lets go."""
    statuses = []
    for backend in models:
        status = local_status(backend)
        cache.set(status_key(backend), status, timeout=3 * settings.GPU_STATUS_SECONDS)
        statuses.append(status)
    return statuses


def published_status(backend: GpuModel) -> GpuStatus | None:
    """What a running gpu worker last published for ``backend`` under these settings, or None
    when none has in the last three ``GPU_STATUS_SECONDS``."""
    published = cache.get(status_key(backend))
    return published if isinstance(published, GpuStatus) else None


def gpu_status(backend: GpuModel) -> GpuStatus:
    """Whether ``backend`` can render: what a running gpu worker published, or, when none has
    in the last three ``GPU_STATUS_SECONDS``, what this machine finds."""
    return published_status(backend) or local_status(backend)
