"""The sweep for jobs whose worker or message vanished (a crashed machine, a broker that lost
its queues on restart), over every registered job kind.

Dramatiq redelivers a message whose worker died, but not one the broker itself lost, and a
delayed poll lives only in the broker. The database row is the source of truth, so a periodic
sweep (``manage.py sweep_jobs``) compares each unfinished job's last sign of life
(``updated_at``, written on every progress report, start attempt and poll) with what its
stage allows, and sends its message again or fails it with the reason. Every change is a
guarded update (``jobs.lifecycle``), so several sweepers, or a sweeper racing the worker it
presumed dead, settle on one outcome; and a second copy of a message is harmless, only one
worker can claim a job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef
from django.utils import timezone

from . import kinds, lifecycle
from .cloud import resume_step
from .dispatch import Step, send, send_next
from .invocations import current_invocation
from .models import FailureKind, Invocation, InvocationStatus, Job, JobStatus
from .workdirs import remove_orphans

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """What one sweep did, in numbers of jobs."""

    requeued_renders: int = 0
    failed_renders: int = 0
    resumed_cloud: int = 0
    failed_cloud: int = 0
    resent_queued: int = 0
    resent_preparations: int = 0

    @property
    def total(self) -> int:
        return (
            self.requeued_renders
            + self.failed_renders
            + self.resumed_cloud
            + self.failed_cloud
            + self.resent_queued
            + self.resent_preparations
        )


def _has_invocation(model: type[Job]) -> Exists:
    return Exists(
        Invocation.objects.filter(
            job_type=ContentType.objects.get_for_model(model),
            job_id=OuterRef("pk"),
            backend=OuterRef("backend"),
        )
    )


def _sweep_stalled_renders(kind: kinds.JobKind, now: datetime, report: SweepReport) -> None:
    cutoff = now - timedelta(seconds=settings.SWEEP_RENDER_STALL_SECONDS)
    model = kind.model
    stalled = model._default_manager.filter(
        status=JobStatus.RUNNING, updated_at__lt=cutoff
    ).exclude(_has_invocation(model))
    for job in stalled:
        if not job.job_message_id and kind.waiting is not None and kind.waiting(job):
            # Released while others work for it (a film's clips): waiting, not stalled. Its
            # heartbeat moves on, so the next sweep looks again only after the allowance.
            lifecycle.touch(job, silent_since=cutoff, now=now)
            continue
        silent = int((now - job.updated_at).total_seconds())
        if job.attempts >= settings.SWEEP_MAX_ATTEMPTS:
            message = (
                f"Failed while {job.stage}: the worker stopped responding "
                f"{job.attempts} times (no progress for {silent} s). Try again later."
            )
            note = f"swept: no progress for {silent} s in stage {job.stage!r}"
            if lifecycle.fail_stalled(
                job, message=message, operator_note=note, silent_since=cutoff, now=now
            ):
                report.failed_renders += 1
                logger.warning("%s failed by the sweep: %s", job.log_id, message)
            continue
        stage = job.stage
        if lifecycle.requeue(
            job,
            stage="requeued: its worker stopped",
            from_statuses=(JobStatus.RUNNING,),
            silent_since=cutoff,
            updated_at=now,
        ):
            report.requeued_renders += 1
            logger.warning(
                "%s requeued by the sweep: no progress for %d s in stage %r",
                job.log_id,
                silent,
                stage,
            )
            send_next(job)


def _sweep_stalled_cloud(model: type[Job], now: datetime, report: SweepReport) -> None:
    cutoff = now - timedelta(seconds=settings.SWEEP_CLOUD_STALL_SECONDS)
    stalled = model._default_manager.filter(
        _has_invocation(model), status=JobStatus.RUNNING, updated_at__lt=cutoff
    )
    for job in stalled:
        invocation = current_invocation(job)
        if invocation is None:
            continue
        if invocation.status == InvocationStatus.FAILED:
            # The invocation's failure was recorded but the job's was not (a crash between).
            if lifecycle.fail(
                job,
                stage="generating",
                message=invocation.failure_message or "the provider could not make this video.",
                kind=FailureKind.PROVIDER,
            ):
                report.failed_cloud += 1
            continue
        if not lifecycle.touch(job, silent_since=cutoff, now=now):
            continue
        report.resumed_cloud += 1
        logger.warning(
            "%s: no sign of its cloud job for %d s; invocation %s (%s) sent again",
            job.log_id,
            int((now - job.updated_at).total_seconds()),
            invocation.pk,
            invocation.status,
        )
        send(resume_step(invocation))


def _resend_queued(model: type[Job], now: datetime, report: SweepReport) -> None:
    cutoff = now - timedelta(seconds=settings.SWEEP_QUEUED_SECONDS)
    for job in model._default_manager.filter(status=JobStatus.QUEUED, updated_at__lt=cutoff):
        if not lifecycle.touch(job, silent_since=cutoff, now=now):
            continue
        report.resent_queued += 1
        send_next(job)
        logger.info("%s still queued after %s; its message was sent again", job.log_id, cutoff)


def _resend_preparation(kind: kinds.JobKind, now: datetime, report: SweepReport) -> None:
    if kind.unprepared is None:
        return
    cutoff = now - timedelta(seconds=settings.SWEEP_RENDER_STALL_SECONDS)
    for job in kind.unprepared().filter(updated_at__lt=cutoff):
        if not lifecycle.touch(job, silent_since=cutoff, now=now):
            continue
        report.resent_preparations += 1
        send(Step(kind.prepare_actor, (job.pk,)))
        logger.info("%s: its preparation stopped; sent again", job.log_id)


def sweep_stalled_jobs(*, now: datetime | None = None) -> SweepReport:
    """Requeue or fail every unfinished job, of every kind, that has shown no sign of life
    for longer than its stage allows (settings ``SWEEP_*``, in seconds); returns what was
    done. Also removes work folders left on this machine by killed processes.

    - A running local render silent for ``SWEEP_RENDER_STALL_SECONDS`` lost its worker: it is
      queued again, or failed with the reason after ``SWEEP_MAX_ATTEMPTS`` attempts of this
      take (a Retry or a new Render starts a new take). A job released while others work for
      it (``JobKind.waiting``: a film while its scenes' clips render) is left to wait. The old
      worker, if it was only slow, stops at its next progress report and keeps nothing.
    - A running cloud job silent for ``SWEEP_CLOUD_STALL_SECONDS`` lost its delayed poll (or
      start): it is sent again; the provider is never asked to start it twice.
    - A job queued for ``SWEEP_QUEUED_SECONDS`` has its message sent again.
    - A job whose preparation stopped (``JobKind.unprepared``: a film's storyboard lacking a
      keyframe or a narration) and silent for ``SWEEP_RENDER_STALL_SECONDS`` has its
      preparation sent again.
    """
    now = now or timezone.now()
    report = SweepReport()
    for kind in kinds.all_kinds():
        _sweep_stalled_renders(kind, now, report)
        _sweep_stalled_cloud(kind.model, now, report)
        _resend_queued(kind.model, now, report)
        _resend_preparation(kind, now, report)
    remove_orphans()
    if report.total:
        logger.warning("Sweep: %s", report)
    return report
