"""A sign of life from a second thread while the work in this one runs long between reports."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)


@contextmanager
def beating(
    beat: Callable[[], object],
    *,
    every_seconds: float,
    ends_on: tuple[type[BaseException], ...] = (),
) -> Iterator[None]:
    """Call ``beat`` every ``every_seconds`` from a second thread while the block runs (so a
    sweep does not take slow work for a dead worker), and never after it ends. A beat that
    raises one of ``ends_on`` ends the beating quietly (the work meets it itself); one that
    fails otherwise is logged and ends the beating, never the work. The thread's own database
    connection is closed when it stops."""
    stop = threading.Event()

    def run() -> None:
        from django.db import connections

        try:
            while not stop.wait(every_seconds):
                beat()
        except ends_on:
            return
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
