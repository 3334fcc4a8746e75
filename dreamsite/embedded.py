"""In-process job workers for the embedded mode (no broker to install).

The web process starts a Dramatiq worker on the in-process stub broker and, before that,
puts back every job the database says was queued or running: the row is the source of truth,
so a job interrupted by a restart is resumed rather than lost.
"""

import logging
import threading

import dramatiq
from django.conf import settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_worker: dramatiq.Worker | None = None


def start_embedded_workers(*, resume: bool = True) -> dramatiq.Worker | None:
    """Start the in-process worker once per process, if the settings ask for one.

    With ``resume`` (the web server), unfinished dreams are queued again first; a one-off
    command passes False so that it never takes over a running server's jobs. Returns the
    running worker, or None when ``EMBEDDED_WORKERS`` is off (a real broker with separate
    worker processes).
    """
    global _worker
    if not settings.EMBEDDED_WORKERS:
        return None
    with _lock:
        if _worker is None:
            # Import here: actors must register on the broker django_dramatiq configured.
            from dreams.services import resume_unfinished_dreams

            broker = dramatiq.get_broker()
            _worker = dramatiq.Worker(broker, worker_threads=settings.EMBEDDED_WORKER_THREADS)
            _worker.start()
            if resume:
                resumed = resume_unfinished_dreams()
                logger.info("Embedded workers started; %d unfinished dream(s) resumed.", resumed)
    return _worker


def stop_embedded_workers() -> None:
    """Stop this process's in-process worker, if one runs (a one-off command ending)."""
    global _worker
    with _lock:
        if _worker is not None:
            _worker.stop()
            _worker = None
