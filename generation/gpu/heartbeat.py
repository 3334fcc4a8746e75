"""A GPU render's heartbeat: its latest progress repeated while a long call reports none."""

from __future__ import annotations

import logging
import threading

from ..video import ProgressCallback, RenderCanceled

logger = logging.getLogger(__name__)

#: Seconds between repeats of the latest progress while a call gives none of its own.
HEARTBEAT_SECONDS = 1.0


class Heartbeat:
    """The render's progress callback, repeated every ``HEARTBEAT_SECONDS`` from a second
    thread while the render sits in a long call with no callback of its own (importing torch,
    loading the weights, the VAE decoding every frame), so the sweeper does not take a slow
    GPU for a dead worker. A cancel it meets is raised by the render's next own report."""

    def __init__(self, progress: ProgressCallback) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self._latest: tuple[str, float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="gpu-heartbeat", daemon=True)

    def __call__(self, stage: str, fraction: float) -> None:
        with self._lock:
            self._latest = (stage, fraction)
            self._progress(stage, fraction)

    def _beat(self) -> None:
        from django.db import connections

        try:
            while not self._stop.wait(HEARTBEAT_SECONDS):
                with self._lock:
                    if self._latest is not None:
                        self._progress(*self._latest)
        except RenderCanceled:
            return
        except Exception:
            # A beat that fails (the database away for a moment) must not end the render.
            logger.warning("The GPU render's heartbeat stopped.", exc_info=True)
        finally:
            connections.close_all()  # this thread's own database connection

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
