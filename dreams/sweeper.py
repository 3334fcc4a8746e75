"""The sweep for jobs whose worker or message vanished (a crashed machine, a broker that lost
its queues on restart).

Dramatiq redelivers a message whose worker died, but not one the broker itself lost, and a
delayed poll lives only in the broker. The database row is the source of truth, so a periodic
sweep (``manage.py sweep_jobs``) compares each unfinished job's last sign of life
(``Dream.updated_at``, written on every progress report, start attempt and poll) with what its
stage allows, and sends its message again or fails it with the reason. Every change is a
conditional update, so several sweepers, or a sweeper racing the worker it presumed dead,
settle on one outcome; and a second copy of a message is harmless, only one worker can claim
a job (``services._claim``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .events import publish_dream
from .models import Dream, DreamStatus, FailureKind, Invocation, InvocationStatus

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """What one sweep did, in numbers of dreams."""

    requeued_renders: int = 0
    failed_renders: int = 0
    resumed_cloud: int = 0
    failed_cloud: int = 0
    resent_queued: int = 0

    @property
    def total(self) -> int:
        return (
            self.requeued_renders
            + self.failed_renders
            + self.resumed_cloud
            + self.failed_cloud
            + self.resent_queued
        )


def _has_invocation():
    return Exists(Invocation.objects.filter(dream=OuterRef("pk"), backend=OuterRef("backend")))


def _latest_invocation(dream: Dream) -> Invocation | None:
    return Invocation.objects.filter(dream=dream, backend=dream.backend).order_by("-id").first()


def _touch(dream: Dream, cutoff: datetime, now: datetime, **fields) -> bool:
    """Take the stalled ``dream`` for this sweep: True if it is still in the same state and
    still silent since ``cutoff`` (no other sweeper or worker got there first)."""
    return bool(
        Dream.objects.filter(pk=dream.pk, status=dream.status, updated_at__lt=cutoff).update(
            updated_at=now, **fields
        )
    )


def _sweep_stalled_renders(now: datetime, report: SweepReport) -> None:
    from .tasks import render_dream

    cutoff = now - timedelta(seconds=settings.SWEEP_RENDER_STALL_SECONDS)
    stalled = Dream.objects.filter(status=DreamStatus.RUNNING, updated_at__lt=cutoff).exclude(
        _has_invocation()
    )
    for dream in stalled:
        silent = int((now - dream.updated_at).total_seconds())
        if dream.attempts >= settings.SWEEP_MAX_ATTEMPTS:
            message = (
                f"Failed while {dream.stage}: the worker stopped responding "
                f"{dream.attempts} times (no progress for {silent} s). Try again later."
            )
            if _touch(
                dream,
                cutoff,
                now,
                status=DreamStatus.FAILED,
                error=message,
                failure_kind=FailureKind.INTERNAL,
                operator_note=f"swept: no progress for {silent} s in stage {dream.stage!r}",
                finished_at=now,
            ):
                report.failed_renders += 1
                logger.warning("Dream %s failed by the sweep: %s", dream.pk, message)
                dream.refresh_from_db()
                publish_dream(dream)
            continue
        if _touch(
            dream,
            cutoff,
            now,
            status=DreamStatus.QUEUED,
            stage="requeued: its worker stopped",
            progress=0.0,
            job_message_id="",
        ):
            report.requeued_renders += 1
            logger.warning(
                "Dream %s requeued by the sweep: no progress for %d s in stage %r",
                dream.pk,
                silent,
                dream.stage,
            )
            render_dream.send(dream.pk)
            dream.refresh_from_db()
            publish_dream(dream)


def _sweep_stalled_cloud(now: datetime, report: SweepReport) -> None:
    from .services import fail_dream
    from .tasks import poll_invocation, start_invocation

    cutoff = now - timedelta(seconds=settings.SWEEP_CLOUD_STALL_SECONDS)
    stalled = Dream.objects.filter(
        _has_invocation(), status=DreamStatus.RUNNING, updated_at__lt=cutoff
    )
    for dream in stalled:
        invocation = _latest_invocation(dream)
        if invocation.status == InvocationStatus.FAILED:
            # The invocation's failure was recorded but the dream's was not (a crash between).
            if fail_dream(
                dream,
                stage="generating",
                message=invocation.failure_message or "the provider could not make this video.",
                kind=FailureKind.PROVIDER,
            ):
                report.failed_cloud += 1
            continue
        if not _touch(dream, cutoff, now):
            continue
        report.resumed_cloud += 1
        if invocation.status == InvocationStatus.COMPLETED:
            # Finished at the provider but the copy into storage was interrupted: poll again,
            # which finds it completed and copies the video (the provider bills once).
            Invocation.objects.filter(pk=invocation.pk).update(
                status=InvocationStatus.IN_PROGRESS, finished_at=None
            )
            invocation.status = InvocationStatus.IN_PROGRESS
        logger.warning(
            "Dream %s: no sign of its cloud job for %d s; invocation %s (%s) sent again",
            dream.pk,
            int((now - dream.updated_at).total_seconds()),
            invocation.pk,
            invocation.status,
        )
        if invocation.status == InvocationStatus.IN_PROGRESS:
            poll_invocation.send(invocation.pk)
        else:
            # Queued or starting: a start repeats its token, so the provider starts it once.
            start_invocation.send(invocation.pk)


def _resend_queued(now: datetime, report: SweepReport) -> None:
    from .tasks import render_dream, start_invocation

    cutoff = now - timedelta(seconds=settings.SWEEP_QUEUED_SECONDS)
    for dream in Dream.objects.filter(status=DreamStatus.QUEUED, updated_at__lt=cutoff):
        if not _touch(dream, cutoff, now):
            continue
        report.resent_queued += 1
        invocation = _latest_invocation(dream)
        if invocation is not None:
            start_invocation.send(invocation.pk)
        else:
            render_dream.send(dream.pk)
        logger.info("Dream %s still queued after %s; its message was sent again", dream.pk, cutoff)


def sweep_stalled_jobs(*, now: datetime | None = None) -> SweepReport:
    """Requeue or fail every unfinished dream that has shown no sign of life for longer than
    its stage allows (settings ``SWEEP_*``, in seconds); returns what was done.

    - A running local render silent for ``SWEEP_RENDER_STALL_SECONDS`` lost its worker: it is
      queued again, or failed with the reason after ``SWEEP_MAX_ATTEMPTS`` attempts. The old
      worker, if it was only slow, stops at its next progress report and keeps nothing.
    - A running cloud dream silent for ``SWEEP_CLOUD_STALL_SECONDS`` lost its delayed poll (or
      start): it is sent again; the provider is never asked to start it twice.
    - A dream queued for ``SWEEP_QUEUED_SECONDS`` has its message sent again.
    """
    now = now or timezone.now()
    report = SweepReport()
    _sweep_stalled_renders(now, report)
    _sweep_stalled_cloud(now, report)
    _resend_queued(now, report)
    if report.total:
        logger.warning("Sweep: %s", report)
    return report
