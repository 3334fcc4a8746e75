"""A GPU render's heartbeat: its latest progress repeated while a long call reports none."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from lib.heartbeat import beating

from ..video import ProgressCallback, RenderCanceled

#: Seconds between repeats of the latest progress while a call gives none of its own.
HEARTBEAT_SECONDS = 1.0


class _LatestProgress:
    """A progress callback that remembers its latest report, to repeat it."""

    def __init__(self, progress: ProgressCallback) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self._latest: tuple[str, float] | None = None

    def __call__(self, stage: str, fraction: float) -> None:
        with self._lock:
            self._latest = (stage, fraction)
            self._progress(stage, fraction)

    def repeat(self) -> None:
        with self._lock:
            if self._latest is not None:
                self._progress(*self._latest)


@contextmanager
def heartbeat(progress: ProgressCallback) -> Iterator[ProgressCallback]:
    """The render's progress callback, its latest report repeated every ``HEARTBEAT_SECONDS``
    from a second thread while the render sits in a long call with no callback of its own
    (importing torch, loading the weights, the VAE decoding every frame), so the sweeper does
    not take a slow GPU for a dead worker. A cancel the repeat meets ends the beating; the
    render's next own report raises it."""
    latest = _LatestProgress(progress)
    with beating(latest.repeat, every_seconds=HEARTBEAT_SECONDS, ends_on=(RenderCanceled,)):
        yield latest
