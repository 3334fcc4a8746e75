"""Dream jobs: creating, running, cancelling, retrying, deleting and resuming them.

State changes are conditional updates on the row (``UPDATE ... WHERE status = ...``), so a
cancel racing a finishing render, or two deliveries of one message, settle on one outcome.
"""

from __future__ import annotations

import logging
import random
import shutil
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone
from dramatiq.middleware import TimeLimitExceeded

from characters.models import Character
from generation.registry import UnknownBackend, get_backend
from generation.video import (
    ClipRequest,
    InvalidClipRequest,
    RenderCanceled,
    RenderError,
    VideoBackend,
)

from . import budget
from .events import publish_dream
from .models import (
    ACTIVE_STATUSES,
    SEED_MAX,
    Dream,
    DreamStatus,
    FailureKind,
    Invocation,
    InvocationStatus,
    dream_media_path,
)

logger = logging.getLogger(__name__)

#: Seconds between cancel checks while a backend reports no change of percent.
CANCEL_CHECK_SECONDS = 0.5


class DreamError(ValueError):
    """A request about a dream cannot be carried out; ``message`` says why, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _enqueue_on_commit(dream: Dream, invocation: Invocation | None) -> None:
    from .tasks import render_dream, start_invocation

    def send() -> None:
        if invocation is not None:
            start_invocation.send(invocation.id)
        else:
            render_dream.send(dream.id)
        publish_dream(dream)

    transaction.on_commit(send)


def _reserve_budget(*, owner, backend: VideoBackend, duration_seconds: float) -> Decimal:
    """The estimate for this job, after checking it fits ``owner``'s budget today.

    Must run inside a transaction: the owner's row is locked so that two submissions racing
    cannot both spend the last of the budget. Raises ``DreamError`` saying what is left.
    """
    estimate = backend.estimate_cost_usd(duration_seconds)
    if estimate <= 0:
        return estimate
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
    remaining = budget.remaining_today_usd(owner=owner)
    if estimate > remaining:
        raise DreamError(
            f"This dream would cost about {budget.format_usd(estimate)}, but only "
            f"{budget.format_usd(remaining)} of your {budget.format_usd(budget.daily_budget_usd())}"
            " daily budget is left today. Choose a shorter video or the free animatic."
        )
    return estimate


def _new_invocation(*, dream: Dream, backend: VideoBackend) -> Invocation | None:
    """The invocation record of a cloud dream's next attempt (None for a local backend)."""
    if not backend.is_async:
        return None
    return Invocation.objects.create(
        owner=dream.owner,
        dream=dream,
        backend=backend.name,
        model_id=backend.model_id,
        region=backend.region,
        # Saved before any call, so a repeated start sends the same token (idempotent).
        client_token=f"dreamsite-{uuid.uuid4().hex}",
        video_seconds=dream.requested_seconds,
        estimated_cost_usd=dream.estimated_cost_usd,
    )


def create_dream(
    *,
    owner,
    character: Character,
    prompt: str,
    backend: str,
    seed: int | None = None,
    duration_seconds: float | None = None,
    aspect_ratio: str | None = None,
    first_frame: bool = True,
) -> Dream:
    """Queue a dream of ``character`` acting out ``prompt`` on ``backend``.

    ``seed`` (0..2147483646) fixes the render; None picks one at random.
    ``duration_seconds`` and ``aspect_ratio`` ("16:9", ...) default to the backend's first
    offer; ``first_frame`` opens a cloud clip on the character's first photo where the
    backend takes one. The job is enqueued only once the row is committed. Raises
    ``DreamError`` (nothing saved) for a character the owner does not have, one without
    images, a backend not offered now, anything the backend does not accept (prompt length,
    duration, aspect ratio), a seed out of range, or a cost over the daily budget.
    """
    if character is None or character.owner_id != owner.id:
        raise DreamError("Choose one of your characters.")
    try:
        video_backend = get_backend(backend)
    except UnknownBackend:
        raise DreamError(f"The backend “{backend}” is not available.") from None
    caps = video_backend.capabilities
    if seed is None:
        seed = random.SystemRandom().randint(0, SEED_MAX)
    if not 0 <= seed <= SEED_MAX:
        raise DreamError(f"The seed must be between 0 and {SEED_MAX}.")
    request = ClipRequest(
        prompt=prompt.strip(),
        # The images are checked again, as files, by the worker before anything is billed.
        reference_images=[],
        seed=seed,
        duration_seconds=caps.durations_seconds[0]
        if duration_seconds is None
        else duration_seconds,
        aspect_ratio=aspect_ratio or caps.aspect_ratios[0],
        first_frame=first_frame,
    )
    try:
        video_backend.validate(request)
    except InvalidClipRequest as error:
        raise DreamError(error.message) from None
    if not character.images.exists():
        raise DreamError(f"“{character.name}” has no reference images yet.")
    with transaction.atomic():
        estimate = _reserve_budget(
            owner=owner, backend=video_backend, duration_seconds=request.duration_seconds
        )
        dream = Dream.objects.create(
            owner=owner,
            character=character,
            character_name=character.name,
            prompt=request.prompt,
            backend=video_backend.name,
            seed=seed,
            requested_seconds=request.duration_seconds,
            aspect_ratio=request.aspect_ratio,
            first_frame=first_frame,
            estimated_cost_usd=estimate,
            stage="waiting for a worker",
        )
        _enqueue_on_commit(dream, _new_invocation(dream=dream, backend=video_backend))
    return dream


def _let_go_of_invocations(dream: Dream) -> None:
    """The dream stopped: invocations that never reached the provider are cancelled (nothing
    billed), those that did are abandoned (the provider may still finish and bill them)."""
    now = timezone.now()
    Invocation.objects.filter(dream=dream, status=InvocationStatus.QUEUED).update(
        status=InvocationStatus.CANCELED, finished_at=now
    )
    Invocation.objects.filter(
        dream=dream, status__in=(InvocationStatus.STARTING, InvocationStatus.IN_PROGRESS)
    ).update(status=InvocationStatus.ABANDONED, finished_at=now)


def cancel_dream(*, dream: Dream) -> Dream:
    """Stop a queued or running dream; a running render stops at its next progress report and
    keeps no partial video. Raises ``DreamError`` if the dream has already finished."""
    changed = Dream.objects.filter(pk=dream.pk, status__in=ACTIVE_STATUSES).update(
        status=DreamStatus.CANCELED,
        stage="canceled",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    dream.refresh_from_db()
    if not changed:
        raise DreamError(f"This dream has already {dream.get_status_display().lower()}.")
    _let_go_of_invocations(dream)
    publish_dream(dream)
    return dream


def retry_dream(*, dream: Dream) -> Dream:
    """Queue a failed or cancelled dream again with the same prompt, character and seed.

    Raises ``DreamError`` when the dream is not failed or cancelled, its character is gone,
    its backend is not offered now, or a paid retry would go over the daily budget.
    """
    if dream.character_id is None:
        raise DreamError("This dream's character was deleted, so it cannot be rendered again.")
    try:
        video_backend = get_backend(dream.backend)
    except UnknownBackend:
        raise DreamError(
            f"The backend “{dream.backend}” is not available now; start a new dream instead."
        ) from None
    with transaction.atomic():
        estimate = _reserve_budget(
            owner=dream.owner, backend=video_backend, duration_seconds=dream.requested_seconds
        )
        changed = Dream.objects.filter(
            pk=dream.pk, status__in=(DreamStatus.FAILED, DreamStatus.CANCELED)
        ).update(
            status=DreamStatus.QUEUED,
            stage="waiting for a worker",
            progress=0.0,
            error="",
            failure_kind=FailureKind.NONE,
            operator_note="",
            job_message_id="",
            estimated_cost_usd=estimate,
            cost_usd=None,
            started_at=None,
            finished_at=None,
            updated_at=timezone.now(),
        )
        dream.refresh_from_db()
        if not changed:
            raise DreamError("Only a failed or cancelled dream can be retried.")
        _enqueue_on_commit(dream, _new_invocation(dream=dream, backend=video_backend))
    return dream


def delete_dream(*, dream: Dream) -> None:
    """Delete a dream and its files; a render still going stops and keeps nothing."""
    with transaction.atomic():
        names = [name for name in (dream.video.name, dream.poster.name) if name]
        _let_go_of_invocations(dream)
        dream.delete()

        def delete_files() -> None:
            for name in names:
                default_storage.delete(name)

        transaction.on_commit(delete_files)


def resume_unfinished_dreams() -> int:
    """Queue again every dream the database says is queued or running; returns how many.

    For a single process only (the embedded mode), called before its workers start: no other
    worker can be rendering them, and the in-memory broker lost their messages on restart.
    A cloud dream goes back to its invocation: polling resumes from a saved ARN, and one
    whose ARN was never saved is looked up by its token before any new start.
    """
    from .tasks import render_dream, start_invocation

    Dream.objects.filter(status=DreamStatus.RUNNING).update(
        status=DreamStatus.QUEUED, stage="resumed after a restart", job_message_id=""
    )
    dreams = list(Dream.objects.filter(status=DreamStatus.QUEUED).values_list("id", "backend"))
    for dream_id, backend_name in dreams:
        invocation = Invocation.objects.filter(dream_id=dream_id).order_by("-id").first()
        if invocation is not None and invocation.backend == backend_name:
            start_invocation.send(invocation.id)
        else:
            render_dream.send(dream_id)
    return len(dreams)


class _ProgressReporter:
    """Writes a running dream's stage and progress, publishes one event per change of stage or
    whole percent, and raises ``RenderCanceled`` once the row is no longer running."""

    def __init__(self, dream: Dream) -> None:
        self.dream = dream
        self.stage = dream.stage
        self._last: tuple[str, int] = (dream.stage, -1)
        self._checked_at = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        key = (stage, int(fraction * 100))
        now = time.monotonic()
        if key == self._last and now - self._checked_at < CANCEL_CHECK_SECONDS:
            return
        self._checked_at = now
        self.stage = stage
        # Only while this attempt still owns the dream: after a cancel, or once the sweeper
        # handed it to another worker, this render stops and keeps nothing.
        still_running = Dream.objects.filter(
            pk=self.dream.pk, status=DreamStatus.RUNNING, job_message_id=self.dream.job_message_id
        ).update(stage=stage, progress=fraction, updated_at=timezone.now())
        if not still_running:
            raise RenderCanceled()
        if key != self._last:
            self._last = key
            self.dream.stage, self.dream.progress = stage, fraction
            publish_dream(self.dream)


def fail_dream(
    dream: Dream,
    *,
    stage: str,
    message: str,
    kind: str = FailureKind.INTERNAL,
    operator_note: str = "",
) -> bool:
    """Mark a running dream failed; the stored error names the stage, for user and operator.

    ``kind`` (a ``FailureKind``) tells the page what to offer (edit the prompt, another
    backend); ``operator_note`` keeps the provider's own words for the admin. Returns whether
    the dream was still running this attempt (a cancelled one stays cancelled, one handed to
    another worker is left to it).
    """
    changed = Dream.objects.filter(
        pk=dream.pk, status=DreamStatus.RUNNING, job_message_id=dream.job_message_id
    ).update(
        status=DreamStatus.FAILED,
        stage=stage,
        error=f"Failed while {stage}: {message}",
        failure_kind=kind,
        operator_note=operator_note,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if changed:
        dream.refresh_from_db()
        publish_dream(dream)
    return bool(changed)


def _claim(dream_id: int, message_id: str) -> Dream | None:
    """Mark the dream running for this message; None if it is not ours to render.

    A redelivery of the same message may take over its own unfinished attempt; any other
    message finds the dream running (or finished) and does nothing.
    """
    claimable = Q(status=DreamStatus.QUEUED)
    if message_id:
        claimable |= Q(status=DreamStatus.RUNNING, job_message_id=message_id)
    claimed = Dream.objects.filter(claimable, pk=dream_id).update(
        status=DreamStatus.RUNNING,
        stage="preparing",
        progress=0.0,
        job_message_id=message_id,
        attempts=F("attempts") + 1,
        started_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if not claimed:
        return None
    return Dream.objects.select_related("character").get(pk=dream_id)


def copy_reference_images(
    character: Character, folder: Path, *, limit: int | None = None
) -> list[Path]:
    """Copy ``character``'s reference images (the first ``limit``, or all) from storage into
    ``folder``, in order; returns the local paths (``reference-0.jpg``, ...)."""
    paths = []
    for index, image in enumerate(character.ordered_images()[:limit]):
        path = folder / f"reference-{index}.jpg"
        with image.image.open("rb") as source, path.open("wb") as target:
            shutil.copyfileobj(source, target)
        paths.append(path)
    return paths


def store_result(
    dream: Dream,
    video_path: Path,
    poster_path: Path,
    duration: float,
    cost_usd: Decimal | None = None,
) -> bool:
    """Save the clip and mark the dream succeeded, unless it was cancelled or handed to another
    worker meanwhile (then the saved files are deleted again, so one video exists per dream).
    ``duration`` in seconds, ``cost_usd`` the actual cost."""
    with video_path.open("rb") as video, poster_path.open("rb") as poster:
        video_name = default_storage.save(dream_media_path(dream, "video.mp4"), File(video))
        poster_name = default_storage.save(dream_media_path(dream, "poster.jpg"), File(poster))
    finished = Dream.objects.filter(
        pk=dream.pk, status=DreamStatus.RUNNING, job_message_id=dream.job_message_id
    ).update(
        status=DreamStatus.SUCCEEDED,
        stage="done",
        progress=1.0,
        video=video_name,
        poster=poster_name,
        duration_seconds=duration,
        cost_usd=Decimal("0") if cost_usd is None else cost_usd,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if not finished:
        default_storage.delete(video_name)
        default_storage.delete(poster_name)
    return bool(finished)


def run_dream(*, dream_id: int, message_id: str = "") -> None:
    """Render dream ``dream_id`` to completion, failure or cancellation (the actor's body).

    Safe to call more than once for the same dream: only a queued dream (or this message's
    own interrupted attempt) is rendered. A failure is recorded on the dream with the stage
    that failed and why; only database errors propagate, for the actor to retry.
    """
    dream = _claim(dream_id, message_id)
    if dream is None:
        logger.info("Dream %s is not queued; nothing to do.", dream_id)
        return
    logger.info("Rendering on %s, attempt %d", dream.backend, dream.attempts)
    publish_dream(dream)
    reporter = _ProgressReporter(dream)
    with tempfile.TemporaryDirectory(prefix=f"dream-{dream.public_id}-") as folder:
        workdir = Path(folder)
        try:
            if dream.character is None:
                raise RenderError("preparing", "The character of this dream was deleted.")
            backend = get_backend(dream.backend, offered_only=False)
            request = ClipRequest(
                prompt=dream.prompt,
                reference_images=copy_reference_images(dream.character, workdir),
                seed=dream.seed,
                duration_seconds=dream.requested_seconds,
                aspect_ratio=dream.aspect_ratio,
                first_frame=dream.first_frame,
            )
            clip = backend.render(request, workdir=workdir, progress=reporter)
            reporter("saving", 0.97)
            if store_result(dream, clip.video_path, clip.poster_path, clip.duration_seconds):
                logger.info("Finished: a %.1f s video", clip.duration_seconds)
                dream.refresh_from_db()
                publish_dream(dream)
        except RenderCanceled:
            logger.info("Dream %s was cancelled while rendering.", dream.public_id)
        except RenderError as error:
            fail_dream(dream, stage=error.stage, message=error.message)
        except UnknownBackend:
            fail_dream(
                dream,
                stage="preparing",
                message=f"The backend “{dream.backend}” is no longer available on this site.",
            )
        except TimeLimitExceeded:
            fail_dream(dream, stage=reporter.stage, message="The render took longer than allowed.")
        except FileNotFoundError:
            fail_dream(dream, stage=reporter.stage, message="A reference image file is missing.")
        except Exception as error:
            if isinstance(error, DatabaseError):
                raise
            logger.exception("Dream %s failed in stage %s", dream.public_id, reporter.stage)
            fail_dream(
                dream,
                stage=reporter.stage,
                message=f"An internal error stopped the render ({type(error).__name__}). "
                "The operator can see the details in the logs.",
            )
