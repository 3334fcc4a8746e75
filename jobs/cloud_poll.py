"""Polling a cloud job's invocation: one status call per message, the estimated progress
while it runs, and its video taken in when it completes. Started by ``jobs.cloud``."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

from django.db.models import F
from django.utils import timezone

from generation import aws
from generation.video import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    ClipInvocationBackend,
    InvocationState,
    RenderedClip,
    RenderError,
)

from . import kinds, lifecycle
from .cloud import (
    ESTIMATE_END,
    ESTIMATE_START,
    GIVE_UP_FACTOR,
    MAX_OUTPUT_WAITS,
    MAX_POLL_ERRORS,
    busy_delay_seconds,
    load_invocation,
    poll_delay_seconds,
    poll_step,
)
from .cloud_failures import (
    CONTENT_FILTER_AFTER_GENERATION,
    backend_or_fail,
    fail_invocation,
    finish_invocation,
)
from .dispatch import Step
from .models import FailureKind, Invocation, Job, JobStatus
from .models import InvocationStatus as Status
from .workdirs import work_folder

logger = logging.getLogger(__name__)


def poll_invocation(*, invocation_id: int) -> Step | None:
    """Ask the provider about one invocation once; returns the next poll, or None when done.

    ``InProgress`` moves the estimated progress (elapsed time against the backend's typical
    duration); ``Completed`` copies the video into storage with a poster and the actual cost;
    ``Failed`` fails the job, saying so when a content filter blocked the video. A job
    cancelled or deleted meanwhile stops the polling (the provider may still bill).
    """
    invocation, job = load_invocation(invocation_id)
    if invocation is None or invocation.status != Status.IN_PROGRESS:
        return None
    if job is None or job.status != JobStatus.RUNNING:
        finish_invocation(invocation, Status.ABANDONED)
        return None
    backend = backend_or_fail(invocation, job, stage="generating", status=Status.ABANDONED)
    if backend is None:
        return None
    try:
        state = backend.check(invocation.arn)
    except aws.ProviderError as error:
        return _poll_failed(invocation, job, error)
    Invocation.objects.filter(pk=invocation.pk).update(
        polls=F("polls") + 1, poll_errors=0, last_polled_at=timezone.now()
    )
    if state.status == IN_PROGRESS:
        return _still_running(invocation, job, backend)
    if state.status == COMPLETED:
        return _completed(invocation, job, backend, state)
    if state.status == FAILED:
        details = backend.failure_details(invocation.arn, state)
        if aws.mentions_content_filter(details):
            message, kind = CONTENT_FILTER_AFTER_GENERATION, FailureKind.CONTENT_FILTER
        else:
            reason = state.failure_message or "no reason given"
            message = f"{backend.label} could not make this video: {reason}"
            kind = FailureKind.PROVIDER
        fail_invocation(
            invocation,
            job,
            stage="generating",
            message=message,
            kind=kind,
            operator_note=details[:4000],
        )
        return None
    logger.warning("Invocation %s has an unknown status %r", invocation.arn, state.status)
    return poll_step(invocation.pk, poll_delay_seconds(invocation.polls + 1))


def _poll_failed(invocation: Invocation, job: Job, error: aws.ProviderError) -> Step | None:
    errors = invocation.poll_errors + 1
    if errors > MAX_POLL_ERRORS:
        fail_invocation(
            invocation,
            job,
            stage="generating",
            message="Lost contact with the provider while it worked on this video. "
            "It may still finish and be billed; try again later.",
            kind=FailureKind.PROVIDER,
            status=Status.ABANDONED,
            operator_note=f"{error.code}: {error.message}",
        )
        return None
    Invocation.objects.filter(pk=invocation.pk).update(poll_errors=errors)
    logger.warning("Poll of %s failed (%s: %s)", invocation.arn, error.code, error.message)
    delay = busy_delay_seconds(errors) if isinstance(error, aws.ProviderBusy) else 30.0
    return poll_step(invocation.pk, max(delay, poll_delay_seconds(invocation.polls)))


def _still_running(invocation: Invocation, job: Job, backend: ClipInvocationBackend) -> Step | None:
    typical = backend.typical_seconds(invocation.video_seconds)
    elapsed = (timezone.now() - (invocation.submitted_at or invocation.created_at)).total_seconds()
    if elapsed > max(GIVE_UP_FACTOR * typical, 3600.0):
        fail_invocation(
            invocation,
            job,
            stage="generating",
            message=f"{backend.label} took far longer than usual, so the job was given up. "
            "The provider may still finish and bill it.",
            kind=FailureKind.PROVIDER,
            status=Status.ABANDONED,
        )
        return None
    fraction = ESTIMATE_START + (ESTIMATE_END - ESTIMATE_START) * min(elapsed / typical, 1.0)
    if lifecycle.set_progress(job, stage="generating (estimate)", fraction=fraction):
        return poll_step(invocation.pk, poll_delay_seconds(invocation.polls + 1))
    finish_invocation(invocation, Status.ABANDONED)
    return None


def _completed(
    invocation: Invocation, job: Job, backend: ClipInvocationBackend, state: InvocationState
) -> Step | None:
    from generation.clips import read_clip  # moviepy: only workers that take a video in

    with work_folder(job.log_id) as folder:
        video_path = Path(folder) / "output.mp4"
        poster_path = Path(folder) / "poster.jpg"
        last_frame_path = Path(folder) / "last-frame.jpg"
        try:
            found = backend.download_output(invocation.arn, state, video_path)
        except aws.ProviderError as error:
            return _poll_failed(invocation, job, error)
        if not found:
            # poll_errors counts the waits for the video here: the value loaded before this
            # poll's successful check (which reset the stored count) is the waits so far.
            waits = invocation.poll_errors + 1
            if waits > MAX_OUTPUT_WAITS:
                fail_invocation(
                    invocation,
                    job,
                    stage="saving",
                    message=f"{backend.label} reported the video finished but never wrote it.",
                    kind=FailureKind.PROVIDER,
                    status=Status.ABANDONED,
                )
                return None
            Invocation.objects.filter(pk=invocation.pk).update(poll_errors=waits)
            return poll_step(invocation.pk, 2.0)
        if not lifecycle.set_progress(job, stage="saving", fraction=0.95):
            finish_invocation(invocation, Status.ABANDONED)
            return None
        try:
            duration = read_clip(
                video_path, poster_path=poster_path, last_frame_path=last_frame_path
            )
        except RenderError as error:
            fail_invocation(
                invocation,
                job,
                stage=error.stage,
                message=error.message,
                kind=FailureKind.PROVIDER,
                status=Status.ABANDONED,
            )
            return None
        cost = backend.estimate_cost_usd(invocation.video_seconds)
        finish_invocation(invocation, Status.COMPLETED, cost_usd=cost)
        clip = RenderedClip(
            video_path=video_path,
            poster_path=poster_path,
            last_frame_path=last_frame_path,
            duration_seconds=duration,
        )
        kinds.clip_kind(job.job_kind).store_clip(job, clip=clip, cost_usd=cost)
        logger.info(
            "%s finished at %s: %.1f s, %s USD", job.log_id, backend.label, duration, Decimal(cost)
        )
    return None
