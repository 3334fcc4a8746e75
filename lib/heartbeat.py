"""A sign of life from a second thread while the work in this one runs long between reports."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)


@contextmanager
def beating(beat: Callable[[], object], *, every_seconds: float) -> Iterator[None]:
    """Call ``beat`` every ``every_seconds`` from a second thread while the block runs (so a
    sweep does not take slow work for a dead worker), and once more never after it ends. A
    beat that fails is logged and ends the beating, never the work; the thread's own
    database connection is closed when it stops."""
    stop = threading.Event()

    def run() -> None:
        from django.db import connections

        try:
            while not stop.wait(every_seconds):
                beat()
        except Exception:
            logger.warning("A heartbeat stopped.", exc_info=True)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
