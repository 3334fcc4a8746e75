"""In-process job workers for the embedded mode (no broker to install).

The web process starts a Dramatiq worker on the in-process stub broker and, before that,
puts back every job the database says was queued or running: the row is the source of truth,
so a job interrupted by a restart is resumed rather than lost.
"""

import logging
import threading

import dramatiq
from django.conf import settings

from . import kinds, lifecycle
from .dispatch import Step, send, send_next
from .models import JobStatus
from .workdirs import remove_orphans

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_worker: dramatiq.Worker | None = None


def resume_unfinished_jobs() -> int:
    """Queue again every job, of every kind, that the database says is queued or running,
    oldest first, and the unfinished preparation of any other (``JobKind.unprepared``);
    returns how many.

    For a single process only (the embedded mode), called before its workers start: no other
    worker can be running them, and the in-memory broker lost their messages on restart. A
    cloud job goes back to its invocation: polling resumes from a saved ARN, and one whose
    ARN was never saved is looked up by its token before any new start.
    """
    resumed = 0
    for kind in kinds.all_kinds():
        jobs = kind.model._default_manager.filter(
            status__in=(JobStatus.QUEUED, JobStatus.RUNNING)
        ).order_by("created_at", "id")
        for job in jobs:
            if job.status == JobStatus.RUNNING:
                lifecycle.requeue(
                    job, stage="resumed after a restart", from_statuses=(JobStatus.RUNNING,)
                )
            send_next(job)
            resumed += 1
        if kind.unprepared is not None:
            for job in kind.unprepared():
                send(Step(kind.prepare_actor, (job.pk,)))
                resumed += 1
    return resumed


def start_embedded_workers(*, resume: bool = True) -> dramatiq.Worker | None:
    """Start the in-process worker once per process, if the settings ask for one.

    With ``resume`` (the web server), unfinished jobs are queued again first; a one-off
    command passes False so that it never takes over a running server's jobs. Returns the
    running worker, or None when ``EMBEDDED_WORKERS`` is off (a real broker with separate
    worker processes).
    """
    global _worker
    if not settings.EMBEDDED_WORKERS:
        return None
    with _lock:
        if _worker is None:
            remove_orphans()
            # Everything unfinished is queued before the worker takes anything: a job that a
            # resumed one queues (a film's scene) is then not found and resumed again.
            resumed = resume_unfinished_jobs() if resume else 0
            broker = dramatiq.get_broker()
            _worker = dramatiq.Worker(broker, worker_threads=settings.EMBEDDED_WORKER_THREADS)
            _worker.start()
            if resume:
                logger.info("Embedded workers started; %d unfinished job(s) resumed.", resumed)
    return _worker


def stop_embedded_workers() -> None:
    """Stop this process's in-process worker, if one runs (a one-off command ending)."""
    global _worker
    with _lock:
        if _worker is not None:
            _worker.stop()
            _worker = None
