"""Dramatiq middleware for every worker process of the site."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)


class RemoveOrphanWorkFolders(Middleware):
    """When a worker process boots, remove the work folders that killed processes left on
    this machine (``jobs.workdirs``): each machine that runs workers cleans its own disk."""

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        from .workdirs import remove_orphans  # needs settings, ready by the time workers boot

        remove_orphans()


class PublishGpuStatus(Middleware):
    """When a worker that serves the ``gpu`` queue boots, check its GPU models (weights and
    device) and publish what it found, so web processes offer what it can render."""

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        queues = getattr(worker, "consumer_whitelist", None)
        if queues is not None and "gpu" not in queues:
            return
        from generation.gpu_models import publish_statuses

        for status in publish_statuses():
            logger.info(
                "GPU backend %s: %s", status.backend, "ready" if status.ready else status.detail
            )
