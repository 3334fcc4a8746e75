"""Rendering a job's clip in this worker, for any job kind whose backend is a ``ClipRenderer``."""

from __future__ import annotations

import logging
from pathlib import Path

from django.db import DatabaseError, transaction
from dramatiq.middleware import TimeLimitExceeded

from generation.registry import UnknownBackend, get_backend
from generation.video import ClipRenderer, InvalidClipRequest, RenderCanceled, RenderError

from . import kinds, ledger, lifecycle
from .dispatch import send_next
from .events import publish
from .models import Job, JobStatus
from .workdirs import work_folder

logger = logging.getLogger(__name__)


def run_render(*, kind: str, job_id: int, message_id: str = "") -> None:
    """Render job ``job_id`` of ``kind`` to completion, failure or cancellation (the body of
    a render actor).

    Safe to call more than once for the same job: only a queued job (or this message's own
    interrupted attempt) is rendered. A failure is recorded on the job with the stage that
    failed and why; only database errors propagate, for the actor to retry.
    """
    job_kind = kinds.clip_kind(kind)
    job = lifecycle.claim(job_kind.model, job_id=job_id, message_id=message_id)
    if job is None:
        logger.info("%s-%s is not queued; nothing to do.", kind, job_id)
        return
    logger.info("Rendering on %s, attempt %d", job.backend, job.attempts)
    publish(job)
    reporter = lifecycle.ProgressReporter(job)
    with work_folder(job.log_id) as folder:
        workdir = Path(folder)
        try:
            backend = get_backend(job.backend, offered_only=False)
            if not isinstance(backend, ClipRenderer):
                raise UnknownBackend(job.backend)
            request = job_kind.clip_request(job, workdir=workdir, for_provider=False)
            clip = backend.render(request, workdir=workdir, progress=reporter)
            reporter("saving", 0.97)
            charge = backend.actual_charge(clip)
            cost = charge.cost_usd if charge is not None else None
            with transaction.atomic():
                stored = job_kind.store_clip(job, clip=clip, cost_usd=cost)
                if stored and charge is not None:
                    ledger.settle_local(job, charge=charge)
            if stored:
                logger.info("Finished: a %.1f s video", clip.duration_seconds)
                if charge is not None:
                    logger.info("It took %.1f %s", charge.quantity, charge.unit.replace("_", " "))
        except RenderCanceled:
            logger.info("%s was cancelled while rendering.", job.log_id)
        except Exception as error:
            if isinstance(error, DatabaseError) or workdir.is_dir():
                _fail(job, error, stage=reporter.stage)
            else:
                _interrupted(job)


def _interrupted(job: Job) -> None:
    """The attempt's work folder vanished under it: its process is stopping (at exit Python
    removes temporary folders while a worker thread may still render; a dream resumed after a
    restart then failed with "No such file … poster.jpg"), or something removed it. Not the
    job's fault: put it back in the queue, where a resume, the sweeper or this worker takes it
    up again."""
    logger.warning("%s: its work folder vanished mid-render; queued again.", job.log_id)
    if lifecycle.requeue(job, stage="waiting for a worker", from_statuses=(JobStatus.RUNNING,)):
        send_next(job)


def _fail(job: Job, error: Exception, *, stage: str) -> None:
    """Record on ``job`` why its attempt failed in ``stage``, by what was raised (called while
    handling ``error``); a database error is re-raised for Dramatiq to retry."""
    if isinstance(error, RenderError):
        lifecycle.fail(job, stage=error.stage, message=error.message)
    elif isinstance(error, InvalidClipRequest):
        lifecycle.fail(job, stage="preparing", message=error.message)
    elif isinstance(error, UnknownBackend):
        lifecycle.fail(
            job,
            stage="preparing",
            message=f"The backend “{job.backend}” is no longer available on this site.",
        )
    elif isinstance(error, TimeLimitExceeded):
        lifecycle.fail(job, stage=stage, message="The render took longer than allowed.")
    elif isinstance(error, FileNotFoundError):
        lifecycle.fail(job, stage=stage, message="A reference image file is missing.")
    elif isinstance(error, DatabaseError):
        raise error
    else:
        logger.exception("%s failed in stage %s", job.log_id, stage)
        lifecycle.fail(
            job,
            stage=stage,
            message=f"An internal error stopped the render ({type(error).__name__}). "
            "The operator can see the details in the logs.",
        )
