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


def _hosts_key(backend: GpuModel) -> str:
    return f"{status_key(backend)}:hosts"


def publish_statuses(models: Sequence[GpuModel]) -> list[GpuStatus]:
    """Check ``models`` on this machine and publish the result in the shared cache, under this
    host's name (several gpu workers each publish their own), where web processes read it
    (``gpu_status``) for three ``GPU_STATUS_SECONDS``. A gpu worker calls it for every model
    when it boots and every ``GPU_STATUS_SECONDS`` while it runs (``backends.gpu_models``),
    and for a model it loads or lets go."""
    statuses = []
    for backend in models:
        status = local_status(backend)
        key = status_key(backend)
        cache.set(f"{key}:{status.host}", status, timeout=3 * settings.GPU_STATUS_SECONDS)
        hosts = cache.get(_hosts_key(backend)) or []
        if status.host not in hosts:
            # Read and written again: a host lost to a race adds itself on its next report.
            cache.set(_hosts_key(backend), [*hosts, status.host], timeout=None)
        statuses.append(status)
    return statuses


def published_statuses(backend: GpuModel) -> list[GpuStatus]:
    """What each running gpu worker last published for ``backend`` under these settings, in
    the order they first reported; those silent for three ``GPU_STATUS_SECONDS`` are gone."""
    key = status_key(backend)
    hosts = cache.get(_hosts_key(backend)) or []
    found = cache.get_many([f"{key}:{host}" for host in hosts])
    statuses = [found.get(f"{key}:{host}") for host in hosts]
    return [status for status in statuses if isinstance(status, GpuStatus)]


def published_status(backend: GpuModel) -> GpuStatus | None:
    """What the gpu workers last published for ``backend``: a ready worker's report when one
    is ready, else the first's, or None when none has in the last three
    ``GPU_STATUS_SECONDS``."""
    statuses = published_statuses(backend)
    return next((s for s in statuses if s.ready), statuses[0] if statuses else None)


def gpu_status(backend: GpuModel) -> GpuStatus:
    """Whether ``backend`` can render: what a running gpu worker published (any one ready
    makes it ready), or, when none has in the last three ``GPU_STATUS_SECONDS``, what this
    machine finds."""
    return published_status(backend) or local_status(backend)
