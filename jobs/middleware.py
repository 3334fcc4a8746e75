"""Dramatiq middleware for every worker process of the site."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.middleware import Middleware


class RemoveOrphanWorkFolders(Middleware):
    """When a worker process boots, remove the work folders that killed processes left on
    this machine (``jobs.workdirs``): each machine that runs workers cleans its own disk."""

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        from .workdirs import remove_orphans  # needs settings, ready by the time workers boot

        remove_orphans()
