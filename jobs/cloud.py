"""Cloud jobs: starting a provider invocation (polling it and taking in its video:
``jobs.cloud_poll``; failing it: ``jobs.cloud_failures``).

Works for any job kind (a dream, a film's scene) through what the kind registers. No worker
thread waits on the provider. ``start_invocation`` sends the job and returns the first poll;
each ``poll_invocation`` (``jobs.cloud_poll``) makes one status call and either returns the
next poll (a delayed Dramatiq message on the ``cloud`` queue, which the actor sends) or
finishes the job. Every step loads its rows by id and changes them with conditional
updates, so a redelivered or resumed message repeats nothing that was done: the ARN is saved as
soon as it is known, and a start whose ARN was lost is found again through
``ListAsyncInvokes`` by its client token before anything new is sent.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from generation import aws
from generation.video import (
    ClipInvocationBackend,
    InvalidClipRequest,
)
from lib import logs

from . import kinds, lifecycle
from .cloud_failures import (
    backend_or_fail,
    fail_invocation,
    finish_invocation,
    handle_provider_error,
)
from .dispatch import Step
from .invocations import current_invocation, set_status
from .models import ACTIVE_STATUSES, FailureKind, Invocation, Job
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
ESTIMATE_START, ESTIMATE_END = 0.03, 0.90
#: A job is given up after this many times its typical duration (and at least an hour).
GIVE_UP_FACTOR = 4


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


def load_invocation(invocation_id: int) -> tuple[Invocation | None, Job | None]:
    """The invocation ``invocation_id`` and its job (None for either that is gone), with the
    job's id bound to this thread's log lines."""
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
    invocation, job = load_invocation(invocation_id)
    if invocation is None:
        return None
    current = current_invocation(job) if job is not None else None
    if job is None or job.status not in ACTIVE_STATUSES or current != invocation:
        if invocation.status == Status.QUEUED:
            finish_invocation(invocation, Status.CANCELED)
        return None
    if invocation.status not in (Status.QUEUED, Status.STARTING, Status.IN_PROGRESS):
        return None
    resumed = invocation.status == Status.IN_PROGRESS
    stage = "generating" if resumed else "submitting"
    if not lifecycle.start_at_provider(job, stage=stage, resumed=resumed):
        return None
    if resumed:
        return poll_step(invocation.pk, 0)
    backend = backend_or_fail(invocation, job, stage="submitting", status=Status.CANCELED)
    if backend is None:
        return None
    with work_folder(job.log_id) as folder:
        try:
            arn = _find_or_start(invocation, job, backend, Path(folder))
        except InvalidClipRequest as error:
            fail_invocation(
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
            handle_provider_error(
                error, invocation=invocation, job=job, backend=backend, stage="submitting"
            )
            return None
    return _mark_started(invocation, job, backend, arn)


def _mark_started(
    invocation: Invocation, job: Job, backend: ClipInvocationBackend, arn: str
) -> Step | None:
    """Record that the provider took ``invocation`` as ``arn``; returns the first poll, or
    None when the job was cancelled while the start was in flight."""
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
    lifecycle.set_progress(job, stage="generating", fraction=ESTIMATE_START)
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
        fail_invocation(
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


def resume_step(invocation: Invocation) -> Step:
    """The message that picks a stalled invocation up again: a poll for one the provider
    has (one that completed but whose video was never stored is polled again: the provider
    bills once), else a start, which repeats its token."""
    if invocation.status == Status.COMPLETED:
        set_status(invocation, Status.IN_PROGRESS, finished_at=None)
    if invocation.status == Status.IN_PROGRESS:
        return poll_step(invocation.pk, 0)
    return start_step(invocation.pk)
