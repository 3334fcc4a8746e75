"""Cloud dreams: starting a Bedrock invocation, polling it, and taking in its video.

No worker thread waits on the provider. ``start_invocation`` sends the job and schedules a
poll; each ``poll_invocation`` makes one status call and either schedules the next (a delayed
Dramatiq message on the ``cloud`` queue) or finishes the dream. Every step loads its rows by id
and changes them with conditional updates, so a redelivered or resumed message repeats nothing
that was done: the ARN is saved as soon as it is known, and a start whose ARN was lost is found
again through ``ListAsyncInvokes`` by its client token before anything new is sent.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from dreamsite import logs
from generation import aws
from generation.availability import mark_unavailable
from generation.bedrock import COMPLETED, FAILED, IN_PROGRESS, AsyncInvocationBackend
from generation.clips import read_clip
from generation.registry import UnknownBackend, get_backend
from generation.video import ClipRequest, InvalidClipRequest, RenderError

from .events import publish_dream
from .models import ACTIVE_STATUSES, Dream, DreamStatus, FailureKind, Invocation
from .models import InvocationStatus as Status
from .services import copy_reference_images, fail_dream, store_result

logger = logging.getLogger(__name__)

#: Starts refused as busy (throttling, concurrent-job quota) before the dream fails; with the
#: backoff below this is about three hours of waiting.
MAX_BUSY_RETRIES = 40
#: Polls in a row that may fail (network, throttling) before the dream is given up.
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
    return schedule[min(polls, len(schedule) - 1)]


def busy_delay_seconds(retries: int) -> float:
    """Backoff after ``retries`` busy answers: ``BEDROCK_BUSY_RETRY_SECONDS`` (5 s) doubling
    each time, at most 5 minutes."""
    return min(settings.BEDROCK_BUSY_RETRY_SECONDS * 2 ** max(retries - 1, 0), 300.0)


def _schedule_poll(invocation_id: int, delay_seconds: float) -> None:
    from .tasks import poll_invocation

    poll_invocation.send_with_options(args=(invocation_id,), delay=int(delay_seconds * 1000))


def _schedule_start(invocation_id: int, delay_seconds: float) -> None:
    from .tasks import start_invocation

    start_invocation.send_with_options(args=(invocation_id,), delay=int(delay_seconds * 1000))


def _set_progress(dream: Dream, *, stage: str, fraction: float) -> bool:
    """Write and publish a running dream's stage and progress; False if it stopped running."""
    changed = Dream.objects.filter(pk=dream.pk, status=DreamStatus.RUNNING).update(
        stage=stage, progress=fraction, updated_at=timezone.now()
    )
    if changed and (stage, int(fraction * 100)) != (dream.stage, int(dream.progress * 100)):
        dream.stage, dream.progress = stage, fraction
        publish_dream(dream)
    return bool(changed)


def _finish_invocation(invocation: Invocation, status: str, **fields) -> None:
    Invocation.objects.filter(pk=invocation.pk).update(
        status=status, finished_at=timezone.now(), **fields
    )


def _fail(
    invocation: Invocation,
    dream: Dream,
    *,
    stage: str,
    message: str,
    kind: str,
    status: str = Status.FAILED,
    operator_note: str = "",
) -> None:
    _finish_invocation(invocation, status, failure_message=operator_note or message)
    fail_dream(dream, stage=stage, message=message, kind=kind, operator_note=operator_note)


def _handle_provider_error(
    error: aws.ProviderError,
    *,
    invocation: Invocation,
    dream: Dream,
    backend: AsyncInvocationBackend,
    stage: str,
) -> None:
    """Fail the dream in a way the user can act on; busy errors are the caller's to retry."""
    note = f"{error.code}: {error.message}"
    if isinstance(error, aws.ContentFiltered):
        _fail(
            invocation,
            dream,
            stage=stage,
            message=CONTENT_FILTER_AT_SUBMIT,
            kind=FailureKind.CONTENT_FILTER,
            operator_note=note,
        )
    elif isinstance(error, aws.ProviderUnavailable):
        logger.error(
            "%s is unavailable (%s); dream %s failed.", backend.label, note, dream.public_id
        )
        mark_unavailable(backend, note)
        _fail(
            invocation,
            dream,
            stage=stage,
            message=f"{backend.label} is unavailable right now. "
            "Try another backend, or try again later.",
            kind=FailureKind.UNAVAILABLE,
            operator_note=note,
        )
    else:
        logger.error("%s refused dream %s: %s", backend.label, dream.public_id, note)
        _fail(
            invocation,
            dream,
            stage=stage,
            message=f"{backend.label} refused the request: {error.message}",
            kind=FailureKind.PROVIDER,
            operator_note=note,
        )


def _backend_or_fail(
    invocation: Invocation, dream: Dream, *, stage: str, status: str
) -> AsyncInvocationBackend | None:
    """The invocation's backend, or None after failing the dream because it was removed from
    the settings while the job ran."""
    try:
        return get_backend(invocation.backend, offered_only=False)
    except UnknownBackend:
        _fail(
            invocation,
            dream,
            stage=stage,
            message=f"The backend “{invocation.backend}” is no longer configured on this site.",
            kind=FailureKind.UNAVAILABLE,
            status=status,
        )
        return None


def _load(invocation_id: int) -> tuple[Invocation | None, Dream | None]:
    invocation = (
        Invocation.objects.select_related("dream", "dream__character")
        .filter(pk=invocation_id)
        .first()
    )
    if invocation is None:
        return None, None
    if invocation.dream_id is not None:
        logs.bind(job_id=logs.dream_job_id(invocation.dream_id))
    return invocation, invocation.dream


def _is_current(invocation: Invocation, dream: Dream) -> bool:
    latest = Invocation.objects.filter(dream=dream).order_by("-id").values_list("id", flat=True)
    return latest.first() == invocation.pk


def start_invocation(*, invocation_id: int) -> None:
    """Send a cloud dream's invocation to the provider and schedule its first poll.

    Safe to repeat: an invocation with a saved ARN is only polled again; one that may have
    reached the provider without its ARN being saved is first looked up by token. A busy
    provider (throttling, quota) schedules another try with backoff; other provider errors
    fail the dream with a message the user can act on. Only database errors propagate.
    """
    invocation, dream = _load(invocation_id)
    if invocation is None:
        return
    if dream is None or dream.status not in ACTIVE_STATUSES or not _is_current(invocation, dream):
        if invocation.status == Status.QUEUED:
            _finish_invocation(invocation, Status.CANCELED)
        return
    if invocation.status not in (Status.QUEUED, Status.STARTING, Status.IN_PROGRESS):
        return
    resumed = invocation.status == Status.IN_PROGRESS
    Dream.objects.filter(pk=dream.pk, status=DreamStatus.QUEUED).update(
        status=DreamStatus.RUNNING,
        stage="generating" if resumed else "submitting",
        attempts=F("attempts") + (0 if resumed else 1),
        started_at=timezone.now(),
        updated_at=timezone.now(),
    )
    dream.refresh_from_db()
    if dream.status != DreamStatus.RUNNING:
        return
    publish_dream(dream)
    if resumed:
        _schedule_poll(invocation.pk, 0)
        return
    backend = _backend_or_fail(invocation, dream, stage="submitting", status=Status.CANCELED)
    if backend is None:
        return
    with tempfile.TemporaryDirectory(prefix=f"dream-{dream.public_id}-") as folder:
        try:
            arn = _find_or_start(invocation, dream, backend, Path(folder))
        except InvalidClipRequest as error:
            _fail(
                invocation,
                dream,
                stage="preparing",
                message=error.message,
                kind=FailureKind.PROVIDER,
                status=Status.CANCELED,
            )
            return
        except aws.ProviderBusy as error:
            _retry_start_later(invocation, dream, error)
            return
        except aws.ProviderError as error:
            _handle_provider_error(
                error, invocation=invocation, dream=dream, backend=backend, stage="submitting"
            )
            return
    taken = Invocation.objects.filter(pk=invocation.pk, status=Status.STARTING).update(
        arn=arn, status=Status.IN_PROGRESS, submitted_at=timezone.now()
    )
    if not taken:
        # Cancelled while the start was in flight: keep the ARN for the record, poll nothing.
        Invocation.objects.filter(pk=invocation.pk).update(arn=arn, submitted_at=timezone.now())
        return
    logger.info("Dream %s started at %s as %s", dream.public_id, backend.label, arn)
    _set_progress(dream, stage="generating", fraction=_ESTIMATE_START)
    _schedule_poll(invocation.pk, poll_delay_seconds(0))


def _find_or_start(
    invocation: Invocation, dream: Dream, backend: AsyncInvocationBackend, folder: Path
) -> str:
    """The invocation's ARN: found by token if an earlier start may have reached the
    provider, else from a new start. Raises ``InvalidClipRequest`` or a ``ProviderError``."""
    if invocation.status == Status.STARTING:
        arn = backend.find(
            client_token=invocation.client_token,
            submitted_after=invocation.created_at - timedelta(minutes=5),
        )
        if arn:
            logger.info("Dream %s: recovered invocation %s by its token.", dream.public_id, arn)
            return arn
    if dream.character is None:
        raise InvalidClipRequest("The character of this dream was deleted.")
    # Only the opening photo is sent, so only it is fetched from storage.
    images = copy_reference_images(dream.character, folder, limit=1) if dream.first_frame else []
    request = ClipRequest(
        prompt=dream.prompt,
        reference_images=images,
        seed=dream.seed,
        duration_seconds=dream.requested_seconds,
        aspect_ratio=dream.aspect_ratio,
        first_frame=dream.first_frame,
    )
    backend.validate(request)
    # Marked before the call: from here on the provider may have the job.
    Invocation.objects.filter(pk=invocation.pk).update(status=Status.STARTING)
    invocation.status = Status.STARTING
    return backend.start(request, client_token=invocation.client_token)


def _retry_start_later(invocation: Invocation, dream: Dream, error: aws.ProviderError) -> None:
    retries = invocation.busy_retries + 1
    if retries > MAX_BUSY_RETRIES:
        _fail(
            invocation,
            dream,
            stage="submitting",
            message="Amazon Bedrock stayed too busy to take the job for hours. Try again later.",
            kind=FailureKind.PROVIDER,
            status=Status.ABANDONED if invocation.status == Status.STARTING else Status.CANCELED,
            operator_note=f"{error.code}: {error.message}",
        )
        return
    Invocation.objects.filter(pk=invocation.pk).update(busy_retries=retries)
    logger.warning(
        "Dream %s: provider busy (%s), start retry %d", dream.public_id, error.code, retries
    )
    _set_progress(dream, stage="waiting for provider capacity", fraction=0.0)
    _schedule_start(invocation.pk, busy_delay_seconds(retries))


def poll_invocation(*, invocation_id: int) -> None:
    """Ask the provider about one invocation once, then schedule the next poll or finish.

    ``InProgress`` moves the estimated progress (elapsed time against the backend's typical
    duration); ``Completed`` copies ``output.mp4`` into storage with a poster and the actual
    cost; ``Failed`` fails the dream, saying so when a content filter blocked the video. A
    dream cancelled or deleted meanwhile stops the polling (the provider may still bill).
    """
    invocation, dream = _load(invocation_id)
    if invocation is None or invocation.status != Status.IN_PROGRESS:
        return
    if dream is None or dream.status != DreamStatus.RUNNING:
        _finish_invocation(invocation, Status.ABANDONED)
        return
    backend = _backend_or_fail(invocation, dream, stage="generating", status=Status.ABANDONED)
    if backend is None:
        return
    try:
        state = backend.check(invocation.arn)
    except aws.ProviderError as error:
        _poll_failed(invocation, dream, error)
        return
    Invocation.objects.filter(pk=invocation.pk).update(
        polls=F("polls") + 1, poll_errors=0, last_polled_at=timezone.now()
    )
    if state.status == IN_PROGRESS:
        _still_running(invocation, dream, backend)
    elif state.status == COMPLETED:
        _completed(invocation, dream, backend, state)
    elif state.status == FAILED:
        details = backend.failure_details(invocation.arn, state)
        if aws.mentions_content_filter(details):
            message, kind = CONTENT_FILTER_AFTER_GENERATION, FailureKind.CONTENT_FILTER
        else:
            reason = state.failure_message or "no reason given"
            message = f"{backend.label} could not make this video: {reason}"
            kind = FailureKind.PROVIDER
        _fail(
            invocation,
            dream,
            stage="generating",
            message=message,
            kind=kind,
            operator_note=details[:4000],
        )
    else:
        logger.warning("Invocation %s has an unknown status %r", invocation.arn, state.status)
        _schedule_poll(invocation.pk, poll_delay_seconds(invocation.polls + 1))


def _poll_failed(invocation: Invocation, dream: Dream, error: aws.ProviderError) -> None:
    errors = invocation.poll_errors + 1
    if errors > MAX_POLL_ERRORS:
        _fail(
            invocation,
            dream,
            stage="generating",
            message="Lost contact with the provider while it worked on this video. "
            "It may still finish and be billed; try again later.",
            kind=FailureKind.PROVIDER,
            status=Status.ABANDONED,
            operator_note=f"{error.code}: {error.message}",
        )
        return
    Invocation.objects.filter(pk=invocation.pk).update(poll_errors=errors)
    logger.warning("Poll of %s failed (%s: %s)", invocation.arn, error.code, error.message)
    delay = busy_delay_seconds(errors) if isinstance(error, aws.ProviderBusy) else 30.0
    _schedule_poll(invocation.pk, max(delay, poll_delay_seconds(invocation.polls)))


def _still_running(invocation: Invocation, dream: Dream, backend: AsyncInvocationBackend) -> None:
    typical = backend.typical_seconds(dream.requested_seconds)
    elapsed = (timezone.now() - (invocation.submitted_at or invocation.created_at)).total_seconds()
    if elapsed > max(_GIVE_UP_FACTOR * typical, 3600.0):
        _fail(
            invocation,
            dream,
            stage="generating",
            message=f"{backend.label} took far longer than usual, so the dream was given up. "
            "The provider may still finish and bill it.",
            kind=FailureKind.PROVIDER,
            status=Status.ABANDONED,
        )
        return
    fraction = _ESTIMATE_START + (_ESTIMATE_END - _ESTIMATE_START) * min(elapsed / typical, 1.0)
    if _set_progress(dream, stage="generating (estimate)", fraction=fraction):
        _schedule_poll(invocation.pk, poll_delay_seconds(invocation.polls + 1))
    else:
        _finish_invocation(invocation, Status.ABANDONED)


def _completed(
    invocation: Invocation, dream: Dream, backend: AsyncInvocationBackend, state
) -> None:
    with tempfile.TemporaryDirectory(prefix=f"dream-{dream.public_id}-") as folder:
        video_path = Path(folder) / "output.mp4"
        poster_path = Path(folder) / "poster.jpg"
        try:
            found = backend.download_output(invocation.arn, state, video_path)
        except aws.ProviderError as error:
            _poll_failed(invocation, dream, error)
            return
        if not found:
            # poll_errors counts the waits for output.mp4 here: the value loaded before this
            # poll's successful check (which reset the stored count) is the waits so far.
            waits = invocation.poll_errors + 1
            if waits > MAX_OUTPUT_WAITS:
                _fail(
                    invocation,
                    dream,
                    stage="saving",
                    message=f"{backend.label} reported the video finished but never wrote it.",
                    kind=FailureKind.PROVIDER,
                    status=Status.ABANDONED,
                )
                return
            Invocation.objects.filter(pk=invocation.pk).update(poll_errors=waits)
            _schedule_poll(invocation.pk, 2.0)
            return
        if not _set_progress(dream, stage="saving", fraction=0.95):
            _finish_invocation(invocation, Status.ABANDONED)
            return
        try:
            duration = read_clip(video_path, poster_path)
        except RenderError as error:
            _fail(
                invocation,
                dream,
                stage=error.stage,
                message=error.message,
                kind=FailureKind.PROVIDER,
                status=Status.ABANDONED,
            )
            return
        cost = backend.estimate_cost_usd(invocation.video_seconds)
        _finish_invocation(invocation, Status.COMPLETED, cost_usd=cost)
        if store_result(dream, video_path, poster_path, duration, cost_usd=cost):
            dream.refresh_from_db()
            publish_dream(dream)
        logger.info(
            "Dream %s finished at %s: %.1f s, %s USD",
            dream.public_id,
            backend.label,
            duration,
            Decimal(cost),
        )
