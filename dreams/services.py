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
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone
from dramatiq.middleware import TimeLimitExceeded

from characters.models import Character
from generation.registry import UnknownBackend, available_backends, get_backend
from generation.video import ClipRequest, RenderCanceled, RenderError

from .events import publish_dream
from .models import ACTIVE_STATUSES, SEED_MAX, Dream, DreamStatus, dream_media_path

logger = logging.getLogger(__name__)

#: Seconds between cancel checks while a backend reports no change of percent.
CANCEL_CHECK_SECONDS = 0.5


class DreamError(ValueError):
    """A request about a dream cannot be carried out; ``message`` says why, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _enqueue_on_commit(dream: Dream) -> None:
    from .tasks import render_dream

    def send() -> None:
        render_dream.send(dream.id)
        publish_dream(dream)

    transaction.on_commit(send)


def create_dream(
    *, owner, character: Character, prompt: str, backend: str, seed: int | None = None
) -> Dream:
    """Queue a dream of ``character`` acting out ``prompt`` on ``backend``.

    ``seed`` (0..2147483646) fixes the render; None picks one at random. The render is
    enqueued only once the row is committed. Raises ``DreamError`` (nothing saved) for a
    character the owner does not have, a character without images, an empty or too long
    prompt, an unavailable backend or a seed out of range.
    """
    if character is None or character.owner_id != owner.id:
        raise DreamError("Choose one of your characters.")
    try:
        video_backend = get_backend(backend)
    except UnknownBackend:
        raise DreamError(f"The backend “{backend}” is not available.") from None
    prompt = prompt.strip()
    limit = video_backend.capabilities.max_prompt_chars
    if not prompt:
        raise DreamError("Write a prompt: what should the character do?")
    if len(prompt) > limit:
        raise DreamError(
            f"The prompt is {len(prompt)} characters; "
            f"{video_backend.label} accepts at most {limit}."
        )
    if seed is None:
        seed = random.SystemRandom().randint(0, SEED_MAX)
    if not 0 <= seed <= SEED_MAX:
        raise DreamError(f"The seed must be between 0 and {SEED_MAX}.")
    if not character.images.exists():
        raise DreamError(f"“{character.name}” has no reference images yet.")
    with transaction.atomic():
        dream = Dream.objects.create(
            owner=owner,
            character=character,
            character_name=character.name,
            prompt=prompt,
            backend=video_backend.name,
            seed=seed,
            requested_seconds=video_backend.capabilities.durations_seconds[0],
            stage="waiting for a worker",
        )
        _enqueue_on_commit(dream)
    return dream


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
    publish_dream(dream)
    return dream


def retry_dream(*, dream: Dream) -> Dream:
    """Queue a failed or cancelled dream again with the same prompt, character and seed.

    Raises ``DreamError`` when the dream is not failed or cancelled, or its character is gone.
    """
    if dream.character_id is None:
        raise DreamError("This dream's character was deleted, so it cannot be rendered again.")
    with transaction.atomic():
        changed = Dream.objects.filter(
            pk=dream.pk, status__in=(DreamStatus.FAILED, DreamStatus.CANCELED)
        ).update(
            status=DreamStatus.QUEUED,
            stage="waiting for a worker",
            progress=0.0,
            error="",
            job_message_id="",
            started_at=None,
            finished_at=None,
            updated_at=timezone.now(),
        )
        dream.refresh_from_db()
        if not changed:
            raise DreamError("Only a failed or cancelled dream can be retried.")
        _enqueue_on_commit(dream)
    return dream


def delete_dream(*, dream: Dream) -> None:
    """Delete a dream and its files; a render still going stops and keeps nothing."""
    with transaction.atomic():
        names = [name for name in (dream.video.name, dream.poster.name) if name]
        dream.delete()

        def delete_files() -> None:
            for name in names:
                default_storage.delete(name)

        transaction.on_commit(delete_files)


def resume_unfinished_dreams() -> int:
    """Queue again every dream the database says is queued or running; returns how many.

    For a single process only (the embedded mode), called before its workers start: no other
    worker can be rendering them, and the in-memory broker lost their messages on restart.
    """
    from .tasks import render_dream

    Dream.objects.filter(status=DreamStatus.RUNNING).update(
        status=DreamStatus.QUEUED, stage="resumed after a restart", job_message_id=""
    )
    ids = list(Dream.objects.filter(status=DreamStatus.QUEUED).values_list("id", flat=True))
    for dream_id in ids:
        render_dream.send(dream_id)
    return len(ids)


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
        still_running = Dream.objects.filter(pk=self.dream.pk, status=DreamStatus.RUNNING).update(
            stage=stage, progress=fraction, updated_at=timezone.now()
        )
        if not still_running:
            raise RenderCanceled()
        if key != self._last:
            self._last = key
            self.dream.stage, self.dream.progress = stage, fraction
            publish_dream(self.dream)


def _fail(dream: Dream, *, stage: str, message: str) -> None:
    """Mark a running dream failed; the stored error names the stage, for user and operator."""
    changed = Dream.objects.filter(pk=dream.pk, status=DreamStatus.RUNNING).update(
        status=DreamStatus.FAILED,
        stage=stage,
        error=f"Failed while {stage}: {message}",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if changed:
        dream.refresh_from_db()
        publish_dream(dream)


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


def _copy_reference_images(character: Character, folder: Path) -> list[Path]:
    paths = []
    for index, image in enumerate(character.ordered_images()):
        path = folder / f"reference-{index}.jpg"
        with image.image.open("rb") as source, path.open("wb") as target:
            shutil.copyfileobj(source, target)
        paths.append(path)
    return paths


def _store_result(dream: Dream, video_path: Path, poster_path: Path, duration: float) -> bool:
    """Save the clip and mark the dream succeeded, unless it was cancelled meanwhile."""
    with video_path.open("rb") as video, poster_path.open("rb") as poster:
        video_name = default_storage.save(dream_media_path(dream, "video.mp4"), File(video))
        poster_name = default_storage.save(dream_media_path(dream, "poster.jpg"), File(poster))
    finished = Dream.objects.filter(pk=dream.pk, status=DreamStatus.RUNNING).update(
        status=DreamStatus.SUCCEEDED,
        stage="done",
        progress=1.0,
        video=video_name,
        poster=poster_name,
        duration_seconds=duration,
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
    publish_dream(dream)
    reporter = _ProgressReporter(dream)
    with tempfile.TemporaryDirectory(prefix=f"dream-{dream.public_id}-") as folder:
        workdir = Path(folder)
        try:
            if dream.character is None:
                raise RenderError("preparing", "The character of this dream was deleted.")
            backend = get_backend(dream.backend)
            request = ClipRequest(
                prompt=dream.prompt,
                reference_images=_copy_reference_images(dream.character, workdir),
                seed=dream.seed,
                duration_seconds=dream.requested_seconds,
            )
            clip = backend.render(request, workdir=workdir, progress=reporter)
            reporter("saving", 0.97)
            if _store_result(dream, clip.video_path, clip.poster_path, clip.duration_seconds):
                dream.refresh_from_db()
                publish_dream(dream)
        except RenderCanceled:
            logger.info("Dream %s was cancelled while rendering.", dream.public_id)
        except RenderError as error:
            _fail(dream, stage=error.stage, message=error.message)
        except UnknownBackend:
            _fail(
                dream,
                stage="preparing",
                message=f"The backend “{dream.backend}” is no longer available on this site.",
            )
        except TimeLimitExceeded:
            _fail(dream, stage=reporter.stage, message="The render took longer than allowed.")
        except FileNotFoundError:
            _fail(dream, stage=reporter.stage, message="A reference image file is missing.")
        except Exception as error:
            if isinstance(error, DatabaseError):
                raise
            logger.exception("Dream %s failed in stage %s", dream.public_id, reporter.stage)
            _fail(
                dream,
                stage=reporter.stage,
                message=f"An internal error stopped the render ({type(error).__name__}). "
                "The operator can see the details in the logs.",
            )


def backend_choices() -> list[tuple[str, str]]:
    """(name, label) of every backend a user may choose now, in the configured order."""
    return [(backend.name, backend.label) for backend in available_backends()]
