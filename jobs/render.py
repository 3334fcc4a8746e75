"""Rendering a job's clip in this worker, for any job kind whose backend is a ``ClipRenderer``."""

from __future__ import annotations

import logging
from pathlib import Path

from django.db import DatabaseError, transaction
from dramatiq.middleware import TimeLimitExceeded

from generation.registry import UnknownBackend, get_backend
from generation.video import ClipRenderer, InvalidClipRequest, RenderCanceled, RenderError

from . import kinds, ledger, lifecycle
from .events import publish
from .workdirs import work_folder

logger = logging.getLogger(__name__)


def run_render(*, kind: str, job_id: int, message_id: str = "") -> None:
    """Render job ``job_id`` of ``kind`` to completion, failure or cancellation (the body of
    a render actor).

    Safe to call more than once for the same job: only a queued job (or this message's own
    interrupted attempt) is rendered. A failure is recorded on the job with the stage that
    failed and why; only database errors propagate, for the actor to retry.
    """
    job_kind = kinds.get(kind)
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
        except RenderError as error:
            lifecycle.fail(job, stage=error.stage, message=error.message)
        except InvalidClipRequest as error:
            lifecycle.fail(job, stage="preparing", message=error.message)
        except UnknownBackend:
            lifecycle.fail(
                job,
                stage="preparing",
                message=f"The backend “{job.backend}” is no longer available on this site.",
            )
        except TimeLimitExceeded:
            lifecycle.fail(
                job, stage=reporter.stage, message="The render took longer than allowed."
            )
        except FileNotFoundError:
            lifecycle.fail(job, stage=reporter.stage, message="A reference image file is missing.")
        except Exception as error:
            if isinstance(error, DatabaseError):
                raise
            logger.exception("%s failed in stage %s", job.log_id, reporter.stage)
            lifecycle.fail(
                job,
                stage=reporter.stage,
                message=f"An internal error stopped the render ({type(error).__name__}). "
                "The operator can see the details in the logs.",
            )
