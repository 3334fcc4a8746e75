"""Dramatiq middleware for every worker process of the site."""

from __future__ import annotations

import logging
import threading
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
    """While a worker that serves the ``gpu`` queue runs, check its GPU models (weights and
    device) and publish what it found, at boot and every ``GPU_STATUS_SECONDS``, so web
    processes offer what it can render. The status expires when the worker stops refreshing
    it (``generation.gpu.status.publish_statuses``): a worker that died stops counting."""

    def __init__(self) -> None:
        self._stops: dict[int, threading.Event] = {}

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        queues = getattr(worker, "consumer_whitelist", None)
        if queues is not None and "gpu" not in queues:
            return
        from generation.gpu.backends import gpu_models
        from generation.gpu.status import publish_statuses

        for status in publish_statuses(gpu_models()):
            logger.info(
                "GPU backend %s: %s", status.backend, "ready" if status.ready else status.detail
            )
        stop = self._stops[id(worker)] = threading.Event()
        threading.Thread(target=self._refresh, args=(stop,), name="gpu-status", daemon=True).start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        stop = self._stops.pop(id(worker), None)
        if stop is not None:
            stop.set()

    @staticmethod
    def _refresh(stop: threading.Event) -> None:
        from django.conf import settings
        from django.db import close_old_connections

        from generation.gpu.backends import gpu_models
        from generation.gpu.status import publish_statuses

        while not stop.wait(settings.GPU_STATUS_SECONDS):
            try:
                publish_statuses(gpu_models())
            except Exception:
                # The cache away for a moment: the next refresh publishes again.
                logger.warning("Publishing the GPU status failed.", exc_info=True)
            finally:
                close_old_connections()
