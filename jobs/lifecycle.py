"""A job's lifecycle as guarded conditional updates that work on any ``Job`` model.

One guard rule (``_guard``): a change applies only while the row is still in a status the
caller expects and, for work done by a worker, still the same attempt (``job_message_id``) the
caller holds. The number of rows updated says who won a race: a cancel against a finishing
render, two deliveries of one message, a sweeper against the worker it presumed dead. Each
change that a page should see is published (``jobs.events.publish``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from django.db.models import Case, F, PositiveIntegerField, Q, When
from django.utils import timezone

from generation.video import RenderCanceled

from . import kinds, ledger
from .events import publish
from .models import ACTIVE_STATUSES, RETRYABLE_STATUSES, FailureKind, Job, JobStatus

J = TypeVar("J", bound=Job)

#: Seconds between cancel checks while a backend reports no change of percent.
CANCEL_CHECK_SECONDS = 0.5


def _guard(
    job: Job, statuses: Iterable[str], *, same_attempt: bool, silent_since: datetime | None = None
) -> Q:
    """The one guard: ``job``'s row, in one of ``statuses``; with ``same_attempt`` still run
    by the message the caller holds; with ``silent_since`` not touched since then."""
    guard = Q(pk=job.pk, status__in=list(statuses))
    if same_attempt:
        guard &= Q(job_message_id=job.job_message_id)
    if silent_since is not None:
        guard &= Q(updated_at__lt=silent_since)
    return guard


def _update(job: Job, guard: Q, **fields: Any) -> bool:
    fields.setdefault("updated_at", timezone.now())
    return bool(type(job)._default_manager.filter(guard).update(**fields))


def claim(model: type[J], *, job_id: int, message_id: str, stage: str = "preparing") -> J | None:
    """Mark job ``job_id`` running for broker message ``message_id``; None if it is not this
    message's to run.

    A queued job is claimed; a redelivery of the same message may take over its own
    unfinished attempt; any other message finds it running (or finished) and does nothing.
    """
    claimable = Q(status=JobStatus.QUEUED)
    if message_id:
        claimable |= Q(status=JobStatus.RUNNING, job_message_id=message_id)
    now = timezone.now()
    claimed = model._default_manager.filter(claimable, pk=job_id).update(
        status=JobStatus.RUNNING,
        stage=stage,
        progress=0.0,
        job_message_id=message_id,
        attempts=F("attempts") + 1,
        started_at=now,
        updated_at=now,
    )
    if not claimed:
        return None
    return model._default_manager.get(pk=job_id)


def hold(model: type[J], *, job_id: int, message_id: str) -> J | None:
    """Hold job ``job_id`` for broker message ``message_id`` without starting a new attempt:
    a queued job, or a running one that nobody holds (``release``) or that this message held
    before a redelivery. None when it is not this message's to move. A job that moves on in
    passes (a film waiting on its clips) is held for each pass and released between them;
    only taking it from the queue counts an attempt."""
    free = Q(status=JobStatus.RUNNING, job_message_id__in=["", message_id])
    now = timezone.now()
    # Taking a queued job (its render, or the sweeper's requeue) is an attempt; holding a
    # running one again for its next pass is not.
    attempts = Case(
        When(status=JobStatus.QUEUED, then=F("attempts") + 1),
        default=F("attempts"),
        output_field=PositiveIntegerField(),
    )
    held = model._default_manager.filter(Q(status=JobStatus.QUEUED) | free, pk=job_id).update(
        status=JobStatus.RUNNING, job_message_id=message_id, attempts=attempts, updated_at=now
    )
    if not held:
        return None
    model._default_manager.filter(pk=job_id, started_at=None).update(started_at=now)
    return model._default_manager.get(pk=job_id)


def release(job: Job) -> bool:
    """Let go of a running job this message holds (it waits on other jobs, and their messages
    move it on); it stays running. Returns whether the message still held it."""
    if not job.job_message_id:
        return False
    released = _update(job, _guard(job, (JobStatus.RUNNING,), same_attempt=True), job_message_id="")
    if released:
        job.job_message_id = ""
    return released


def reopen(job: Job, **fields: Any) -> bool:
    """Put a failed or cancelled job back to draft (not sent; asked for again when its
    parent next needs it), with ``fields``. Returns whether it was failed or cancelled."""
    return _update(
        job, _guard(job, RETRYABLE_STATUSES, same_attempt=False), status=JobStatus.DRAFT, **fields
    )


def start_at_provider(job: Job, *, stage: str, resumed: bool) -> bool:
    """Mark a queued job running because its invocation is being started (or, ``resumed``,
    polled again); a job already running stays so. Returns whether it is running now."""
    now = timezone.now()
    _update(
        job,
        _guard(job, (JobStatus.QUEUED,), same_attempt=False),
        status=JobStatus.RUNNING,
        stage=stage,
        attempts=F("attempts") + (0 if resumed else 1),
        started_at=now,
    )
    job.refresh_from_db()
    if job.status == JobStatus.RUNNING:
        publish(job)
        return True
    return False


def set_progress(job: Job, *, stage: str, fraction: float) -> bool:
    """Write a running job's stage and progress (a fraction in [0, 1]) and publish it when the
    stage or whole percent changed. Returns False when the job stopped running this attempt."""
    changed = _update(
        job,
        _guard(job, (JobStatus.RUNNING,), same_attempt=True),
        stage=stage,
        progress=fraction,
    )
    if changed and (stage, int(fraction * 100)) != (job.stage, int(job.progress * 100)):
        job.stage, job.progress = stage, fraction
        publish(job)
    return changed


class ProgressReporter:
    """A backend's ``progress(stage, fraction)`` callback for one attempt of ``job``.

    Writes the stage and progress, publishes one event per change of stage or whole percent,
    and raises ``RenderCanceled`` once the row no longer runs this attempt (cancelled, or
    handed to another worker by the sweeper). Between changes it checks at most every
    ``CANCEL_CHECK_SECONDS``.
    """

    def __init__(self, job: Job) -> None:
        self.job = job
        self.stage = job.stage
        self._last: tuple[str, int] = (job.stage, -1)
        self._checked_at = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        key = (stage, int(fraction * 100))
        now = time.monotonic()
        if key == self._last and now - self._checked_at < CANCEL_CHECK_SECONDS:
            return
        self._checked_at = now
        self.stage = stage
        still_running = _update(
            self.job,
            _guard(self.job, (JobStatus.RUNNING,), same_attempt=True),
            stage=stage,
            progress=fraction,
        )
        if not still_running:
            raise RenderCanceled()
        if key != self._last:
            self._last = key
            self.job.stage, self.job.progress = stage, fraction
            publish(self.job)


def fail(
    job: Job,
    *,
    stage: str,
    message: str,
    kind: str = FailureKind.INTERNAL,
    operator_note: str = "",
) -> bool:
    """Mark a running job failed; the stored error names the stage, for user and operator.

    ``kind`` (a ``FailureKind``) tells the page what to offer (edit the prompt, another
    backend); ``operator_note`` keeps the provider's own words for the admin. Returns whether
    the job was still running this attempt (a cancelled one stays cancelled, one handed to
    another worker is left to it).
    """
    now = timezone.now()
    changed = _update(
        job,
        _guard(job, (JobStatus.RUNNING,), same_attempt=True),
        status=JobStatus.FAILED,
        stage=stage,
        error=f"Failed while {stage}: {message}",
        failure_kind=kind,
        operator_note=operator_note,
        finished_at=now,
    )
    if changed:
        job.refresh_from_db()
        _settled(job)
    return changed


def finish(job: Job, **fields: Any) -> bool:
    """Mark a running job succeeded with ``fields`` (its files, duration, ``cost_usd``...),
    unless it was cancelled or handed to another worker meanwhile. Returns whether it did;
    the caller removes what it saved when not. Publishes the finished state."""
    fields.setdefault("cost_usd", None)
    changed = _update(
        job,
        _guard(job, (JobStatus.RUNNING,), same_attempt=True),
        status=JobStatus.SUCCEEDED,
        stage="done",
        progress=1.0,
        finished_at=timezone.now(),
        **fields,
    )
    if changed:
        job.refresh_from_db()
        publish(job)
        kinds.settled(job)
    return changed


def cancel(job: Job) -> bool:
    """Cancel a queued or running job (whoever runs it). Returns whether it was active; the
    running attempt stops at its next progress report. Publishes the new state."""
    now = timezone.now()
    changed = _update(
        job,
        _guard(job, ACTIVE_STATUSES, same_attempt=False),
        status=JobStatus.CANCELED,
        stage="cancelled",
        finished_at=now,
    )
    job.refresh_from_db()
    if changed:
        _settled(job)
    return changed


def requeue(
    job: Job,
    *,
    stage: str,
    from_statuses: Iterable[str] = RETRYABLE_STATUSES,
    silent_since: datetime | None = None,
    **fields: Any,
) -> bool:
    """Put ``job`` back in the queue from one of ``from_statuses`` (a retry: failed or
    cancelled), clearing the last attempt's outcome. With ``silent_since`` (the sweeper and
    the embedded resume), only if nothing touched the row since. Returns whether it did; the
    caller sends its message (``jobs.dispatch``). Does not publish: the caller does once the
    message is on its way."""
    values: dict[str, Any] = {
        "status": JobStatus.QUEUED,
        "stage": stage,
        "progress": 0.0,
        "job_message_id": "",
        "error": "",
        "failure_kind": FailureKind.NONE,
        "operator_note": "",
        "finished_at": None,
        **fields,
    }
    changed = _update(
        job,
        _guard(job, from_statuses, same_attempt=False, silent_since=silent_since),
        **values,
    )
    job.refresh_from_db()
    return changed


def fail_stalled(
    job: Job, *, message: str, operator_note: str, silent_since: datetime, now: datetime
) -> bool:
    """Fail a job whose worker vanished (the sweeper, whose clock says ``now``), if nothing
    touched it since ``silent_since``. ``message`` is shown to the user as is. Publishes the
    new state."""
    changed = _update(
        job,
        _guard(job, (job.status,), same_attempt=True, silent_since=silent_since),
        status=JobStatus.FAILED,
        error=message,
        failure_kind=FailureKind.INTERNAL,
        operator_note=operator_note,
        finished_at=now,
        updated_at=now,
    )
    if changed:
        job.refresh_from_db()
        _settled(job)
    return changed


def beat(job: Job) -> bool:
    """A sign of life of the attempt this message holds (its ``updated_at`` is now), while it
    works long between reports: the sweep leaves it alone. Returns False when the message no
    longer holds the running job (nothing written)."""
    if not job.job_message_id:
        return False
    return _update(job, _guard(job, (JobStatus.RUNNING,), same_attempt=True))


def touch(job: Job, *, silent_since: datetime, now: datetime) -> bool:
    """Take a stalled job for this sweep: True if it is in the same state and attempt, and
    silent since ``silent_since`` (no other sweeper or worker got there first). Its heartbeat
    becomes the sweeper's ``now``."""
    return _update(
        job,
        _guard(job, (job.status,), same_attempt=True, silent_since=silent_since),
        updated_at=now,
    )


def _settled(job: Job) -> None:
    """After ``job`` ended (refreshed): settle its local charge, tell its pages, and let its
    kind move on (a scene's film)."""
    ledger.settle_local(job)
    publish(job)
    kinds.settled(job)
