"""Cloud jobs: starting a provider invocation, polling it, and taking in its video.

Works for any job kind (a dream, a film's scene) through what the kind registers. No worker
thread waits on the provider. ``start_invocation`` sends the job and returns the first poll;
each ``poll_invocation`` makes one status call and either returns the next poll (a delayed
Dramatiq message on the ``cloud`` queue, which the actor sends) or finishes the job. Every step
loads its rows by id and changes them with conditional updates, so a redelivered or resumed
message repeats nothing that was done: the ARN is saved as soon as it is known, and a start
whose ARN was lost is found again through ``ListAsyncInvokes`` by its client token before
anything new is sent.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from generation import aws
from generation.availability import mark_unavailable
from generation.registry import UnknownBackend, get_backend
from generation.video import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    ClipInvocationBackend,
    InvalidClipRequest,
    InvocationState,
    RenderedClip,
    RenderError,
)
from lib import logs

from . import kinds, lifecycle
from .dispatch import Step
from .invocations import current_invocation, set_status
from .models import ACTIVE_STATUSES, FailureKind, Invocation, Job, JobStatus
from .models import InvocationStatus as Status
from .workdirs import work_folder

logger = logging.getLogger(__name__)

#: Starts refused as busy (throttling, concurrent-job quota) before the job fails; with the
#: backoff below this is about three hours of waiting.
MAX_BUSY_RETRIES = 40
#: Polls in a row that may fail (network, throttling) before the job is given up.
MAX_POLL_ERRORS = 20
#: Polls allowed after "Completed" while output.mp4 has not appeared yet.
MAX_OUTPUT_WAITS = 10
#: Progress shown while waiting: the estimate runs from START to END of the bar.
_ESTIMATE_START, _ESTIMATE_END = 0.03, 0.90
#: A job is given up after this many times its typical duration (and at least an hour).
_GIVE_UP_FACTOR = 4

CONTENT_FILTER_AT_SUBMIT = (
    "Amazon Bedrock's content filter refused this prompt or the character's photo. "
    "Edit the prompt and try again."
)
CONTENT_FILTER_AFTER_GENERATION = (
    "Amazon Bedrock's content filter blocked the generated video. Edit the prompt and try again."
)


def poll_delay_seconds(polls: int) -> float:
    """Seconds to wait before poll number ``polls`` + 1 (``BEDROCK_POLL_SECONDS``)."""
    schedule = settings.BEDROCK_POLL_SECONDS
    return float(schedule[min(polls, len(schedule) - 1)])


def busy_delay_seconds(retries: int) -> float:
    """Backoff after ``retries`` busy answers: ``BEDROCK_BUSY_RETRY_SECONDS`` (5 s) doubling
    each time, at most 5 minutes."""
    delay = float(settings.BEDROCK_BUSY_RETRY_SECONDS) * 2.0 ** max(retries - 1, 0)
    return min(delay, 300.0)


def poll_step(invocation_id: int, delay_seconds: float) -> Step:
    """The message that polls ``invocation_id`` after ``delay_seconds``."""
    return Step("poll_invocation", (invocation_id,), delay_seconds)


def start_step(invocation_id: int, delay_seconds: float = 0.0) -> Step:
    """The message that starts (or resumes) ``invocation_id`` after ``delay_seconds``."""
    return Step("start_invocation", (invocation_id,), delay_seconds)


def _finish_invocation(invocation: Invocation, status: str, **fields: Any) -> None:
    set_status(invocation, status, **fields)


def _fail(
    invocation: Invocation,
    job: Job,
    *,
    stage: str,
    message: str,
    kind: str,
    status: str = Status.FAILED,
    operator_note: str = "",
) -> None:
    _finish_invocation(invocation, status, failure_message=operator_note or message)
    lifecycle.fail(job, stage=stage, message=message, kind=kind, operator_note=operator_note)


def _handle_provider_error(
    error: aws.ProviderError,
    *,
    invocation: Invocation,
    job: Job,
    backend: ClipInvocationBackend,
    stage: str,
) -> None:
    """Fail the job in a way the user can act on; busy errors are the caller's to retry."""
    note = f"{error.code}: {error.message}"
    if isinstance(error, aws.ContentFiltered):
        message, kind = CONTENT_FILTER_AT_SUBMIT, FailureKind.CONTENT_FILTER
    elif isinstance(error, aws.ProviderUnavailable):
        logger.error("%s is unavailable (%s); %s failed.", backend.label, note, job.log_id)
        mark_unavailable(backend, note)
        message = (
            f"{backend.label} is unavailable right now. Try another backend, or try again later."
        )
        kind = FailureKind.UNAVAILABLE
    else:
        logger.error("%s refused %s: %s", backend.label, job.log_id, note)
        message = f"{backend.label} refused the request: {error.message}"
        kind = FailureKind.PROVIDER
    _fail(invocation, job, stage=stage, message=message, kind=kind, operator_note=note)


def _backend_or_fail(
    invocation: Invocation, job: Job, *, stage: str, status: str
) -> ClipInvocationBackend | None:
    """The invocation's backend, or None after failing the job because it was removed from
    the settings while the job ran."""
    try:
        backend = get_backend(invocation.backend, offered_only=False)
        if isinstance(backend, ClipInvocationBackend):
            return backend
    except UnknownBackend:
        pass
    _fail(
        invocation,
        job,
        stage=stage,
        message=f"The backend “{invocation.backend}” is no longer configured on this site.",
        kind=FailureKind.UNAVAILABLE,
        status=status,
    )
    return None


def _load(invocation_id: int) -> tuple[Invocation | None, Job | None]:
    invocation = Invocation.objects.select_related("job_type").filter(pk=invocation_id).first()
    if invocation is None:
        return None, None
    job = invocation.job if invocation.job_id is not None else None
    if job is not None:
        logs.bind(job_id=job.log_id)
    return invocation, job


def start_invocation(*, invocation_id: int) -> Step | None:
    """Send a cloud job's invocation to the provider; returns the first poll to send.

    Safe to repeat: an invocation with a saved ARN is only polled again; one that may have
    reached the provider without its ARN being saved is first looked up by token. A busy
    provider (throttling, quota) returns another start after a backoff; other provider errors
    fail the job with a message the user can act on. Only database errors propagate.
    """
    invocation, job = _load(invocation_id)
    if invocation is None:
        return None
    current = current_invocation(job) if job is not None else None
    if job is None or job.status not in ACTIVE_STATUSES or current != invocation:
        if invocation.status == Status.QUEUED:
            _finish_invocation(invocation, Status.CANCELED)
        return None
    if invocation.status not in (Status.QUEUED, Status.STARTING, Status.IN_PROGRESS):
        return None
    resumed = invocation.status == Status.IN_PROGRESS
    stage = "generating" if resumed else "submitting"
    if not lifecycle.start_at_provider(job, stage=stage, resumed=resumed):
        return None
    if resumed:
        return poll_step(invocation.pk, 0)
    backend = _backend_or_fail(invocation, job, stage="submitting", status=Status.CANCELED)
    if backend is None:
        return None
    with work_folder(job.log_id) as folder:
        try:
            arn = _find_or_start(invocation, job, backend, Path(folder))
        except InvalidClipRequest as error:
            _fail(
                invocation,
                job,
                stage="preparing",
                message=error.message,
                kind=FailureKind.PROVIDER,
                status=Status.CANCELED,
            )
            return None
        except aws.ProviderBusy as error:
            return _retry_start_later(invocation, job, error)
        except aws.ProviderError as error:
            _handle_provider_error(
                error, invocation=invocation, job=job, backend=backend, stage="submitting"
            )
            return None
    taken = set_status(
        invocation,
        Status.IN_PROGRESS,
        only_from=(Status.STARTING,),
        arn=arn,
        submitted_at=timezone.now(),
    )
    if not taken:
        # Cancelled while the start was in flight: keep the ARN for the record, poll nothing.
        Invocation.objects.filter(pk=invocation.pk).update(arn=arn, submitted_at=timezone.now())
        return None
    logger.info("%s started at %s as %s", job.log_id, backend.label, arn)
    lifecycle.set_progress(job, stage="generating", fraction=_ESTIMATE_START)
    return poll_step(invocation.pk, poll_delay_seconds(0))


def _find_or_start(
    invocation: Invocation, job: Job, backend: ClipInvocationBackend, folder: Path
) -> str:
    """The invocation's ARN: found by token if an earlier start may have reached the
    provider, else from a new start. Raises ``InvalidClipRequest`` or a ``ProviderError``."""
    if invocation.status == Status.STARTING:
        arn = backend.find(
            client_token=invocation.client_token,
            submitted_after=invocation.created_at - timedelta(minutes=5),
        )
        if arn:
            logger.info("%s: recovered invocation %s by its token.", job.log_id, arn)
            return arn
    request = kinds.clip_kind(job.job_kind).clip_request(job, workdir=folder, for_provider=True)
    backend.validate(request)
    # Marked before the call: from here on the provider may have the job.
    set_status(invocation, Status.STARTING)
    return backend.start(request, client_token=invocation.client_token)


def _retry_start_later(invocation: Invocation, job: Job, error: aws.ProviderError) -> Step | None:
    retries = invocation.busy_retries + 1
    if retries > MAX_BUSY_RETRIES:
        _fail(
            invocation,
            job,
            stage="submitting",
            message="Amazon Bedrock stayed too busy to take the job for hours. Try again later.",
            kind=FailureKind.PROVIDER,
            status=Status.ABANDONED if invocation.status == Status.STARTING else Status.CANCELED,
            operator_note=f"{error.code}: {error.message}",
        )
        return None
    Invocation.objects.filter(pk=invocation.pk).update(busy_retries=retries)
    logger.warning("%s: provider busy (%s), start retry %d", job.log_id, error.code, retries)
    lifecycle.set_progress(job, stage="waiting for provider capacity", fraction=0.0)
    return start_step(invocation.pk, busy_delay_seconds(retries))


def poll_invocation(*, invocation_id: int) -> Step | None:
    """Ask the provider about one invocation once; returns the next poll, or None when done.

    ``InProgress`` moves the estimated progress (elapsed time against the backend's typical
    duration); ``Completed`` copies the video into storage with a poster and the actual cost;
    ``Failed`` fails the job, saying so when a content filter blocked the video. A job
    cancelled or deleted meanwhile stops the polling (the provider may still bill).
    """
    invocation, job = _load(invocation_id)
    if invocation is None or invocation.status != Status.IN_PROGRESS:
        return None
    if job is None or job.status != JobStatus.RUNNING:
        _finish_invocation(invocation, Status.ABANDONED)
        return None
    backend = _backend_or_fail(invocation, job, stage="generating", status=Status.ABANDONED)
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
        _fail(
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
        _fail(
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
    if elapsed > max(_GIVE_UP_FACTOR * typical, 3600.0):
        _fail(
            invocation,
            job,
            stage="generating",
            message=f"{backend.label} took far longer than usual, so the job was given up. "
            "The provider may still finish and bill it.",
            kind=FailureKind.PROVIDER,
            status=Status.ABANDONED,
        )
        return None
    fraction = _ESTIMATE_START + (_ESTIMATE_END - _ESTIMATE_START) * min(elapsed / typical, 1.0)
    if lifecycle.set_progress(job, stage="generating (estimate)", fraction=fraction):
        return poll_step(invocation.pk, poll_delay_seconds(invocation.polls + 1))
    _finish_invocation(invocation, Status.ABANDONED)
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
                _fail(
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
            _finish_invocation(invocation, Status.ABANDONED)
            return None
        try:
            duration = read_clip(
                video_path, poster_path=poster_path, last_frame_path=last_frame_path
            )
        except RenderError as error:
            _fail(
                invocation,
                job,
                stage=error.stage,
                message=error.message,
                kind=FailureKind.PROVIDER,
                status=Status.ABANDONED,
            )
            return None
        cost = backend.estimate_cost_usd(invocation.video_seconds)
        _finish_invocation(invocation, Status.COMPLETED, cost_usd=cost)
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


def resume_step(invocation: Invocation) -> Step:
    """The message that picks a stalled invocation up again: a poll for one the provider
    has (one that completed but whose video was never stored is polled again: the provider
    bills once), else a start, which repeats its token."""
    if invocation.status == Status.COMPLETED:
        set_status(invocation, Status.IN_PROGRESS, finished_at=None)
    if invocation.status == Status.IN_PROGRESS:
        return poll_step(invocation.pk, 0)
    return start_step(invocation.pk)
