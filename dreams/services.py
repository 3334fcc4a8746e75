"""Dream jobs: creating, cancelling, retrying and deleting them.

The job machinery is shared (``jobs``): state changes are its guarded updates, the next
message is sent by ``jobs.dispatch``, and rendering runs in ``jobs.render`` and ``jobs.cloud``
through the hooks in ``dreams.clips``.
"""

from __future__ import annotations

import random
from decimal import Decimal
from uuid import UUID

from django.core.files.storage import default_storage
from django.db import transaction

from accounts.models import User
from characters.models import Character
from generation.registry import UnknownBackend, get_backend
from generation.video import ClipBackend, ClipRequest, InvalidClipRequest, visible_text
from jobs import budget, lifecycle
from jobs.dispatch import send_next_on_commit
from jobs.invocations import let_go_of_invocations, new_invocation
from jobs.models import RETRYABLE_STATUSES
from lib.errors import UserError
from lib.submissions import submit_once

from .models import SEED_MAX, Dream, DreamStatus


class DreamError(UserError):
    """A request about a dream cannot be carried out; ``message`` says why, for the user."""


def _reserve_budget(
    *, owner: User, backend: ClipBackend, duration_seconds: float, draws: bool
) -> Decimal:
    """The estimate for this dream (``draws``: with its opening frame drawn first), after
    checking it fits ``owner``'s budget today (inside the caller's transaction). Raises
    ``DreamError`` saying what is left."""
    try:
        return budget.reserve(
            owner=owner,
            estimate_usd=backend.estimate_cost_usd(duration_seconds, drawn_keyframes=int(draws)),
            what="This dream",
            cheaper="Choose a shorter video or the free animatic.",
        )
    except budget.BudgetExceeded as error:
        raise DreamError(error.message) from None


def _queue_attempt(dream: Dream, backend: ClipBackend) -> None:
    """Make the invocation of a cloud dream's new attempt (before any call) and send its
    next message once the transaction commits."""
    new_invocation(
        job=dream,
        owner_id=dream.owner_id,
        backend=backend,
        video_seconds=dream.requested_seconds,
        estimate_usd=dream.estimated_cost_usd,
        drawn_keyframes=int(dream.draw_first_frame),
    )
    send_next_on_commit(dream)


def create_dream(
    *,
    owner: User,
    character: Character,
    prompt: str,
    backend: str,
    seed: int | None = None,
    duration_seconds: float | None = None,
    aspect_ratio: str | None = None,
    first_frame: bool = True,
    draw_first_frame: bool = False,
    submission_key: UUID | None = None,
) -> Dream:
    """Queue a dream of ``character`` acting out ``prompt`` on ``backend``.

    ``submission_key`` names one press of the form's button: the same key sent again (a
    resent request, a double click that got through) returns the dream it made the first time
    and queues nothing new.

    ``seed`` (0..2147483646) fixes the render; None picks one at random.
    ``duration_seconds`` and ``aspect_ratio`` ("16:9", ...) default to the backend's first
    offer; ``first_frame`` opens a cloud clip on the character's first photo where the
    backend takes one; ``draw_first_frame`` opens a local GPU clip instead on a keyframe the
    GPU keyframe model draws from the photos and the prompt. The job is enqueued only once
    the row is committed. Raises
    ``DreamError`` (nothing saved) for a character the owner does not have, one without
    images, a backend not offered now, anything the backend does not accept (prompt length,
    duration, aspect ratio), a seed out of range, a drawn opening frame where it cannot be
    drawn (a backend other than a local GPU one, no keyframe model ready), or a cost over the
    daily budget.
    """

    def make() -> Dream:
        video_backend, request = _checked_request(
            owner=owner, character=character, prompt=prompt, backend=backend, seed=seed,
            duration_seconds=duration_seconds, aspect_ratio=aspect_ratio,
            draw_first_frame=draw_first_frame,
        )  # fmt: skip
        return _create_and_queue(
            owner=owner, character=character, backend=video_backend, request=request,
            first_frame=first_frame, draw_first_frame=draw_first_frame,
            submission_key=submission_key,
        )  # fmt: skip

    return submit_once(Dream, owner=owner, submission_key=submission_key, create=make)


def _checked_request(
    *,
    owner: User,
    character: Character,
    prompt: str,
    backend: str,
    seed: int | None,
    duration_seconds: float | None,
    aspect_ratio: str | None,
    draw_first_frame: bool,
) -> tuple[ClipBackend, ClipRequest]:
    """The backend and the clip request ``create_dream`` asks for, checked; raises
    ``DreamError`` as it says."""
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
        prompt=visible_text(prompt),
        # The images are checked again, as files, by the worker before anything is billed.
        seed=seed,
        duration_seconds=caps.durations_seconds[0]
        if duration_seconds is None
        else duration_seconds,
        aspect_ratio=aspect_ratio or caps.aspect_ratios[0],
    )
    try:
        video_backend.validate(request)
    except InvalidClipRequest as error:
        raise DreamError(error.message) from None
    if not character.images.exists():
        raise DreamError(f"“{character.name}” has no reference images yet.")
    if draw_first_frame:
        _check_drawing(video_backend)
    return video_backend, request


def _check_drawing(backend: ClipBackend) -> None:
    """Raise ``DreamError`` unless ``backend`` can open on a drawn keyframe now."""
    problem = backend.drawing_problem()
    if problem:
        raise DreamError(f"The opening frame cannot be drawn now. {problem}")


def _create_and_queue(
    *,
    owner: User,
    character: Character,
    backend: ClipBackend,
    request: ClipRequest,
    first_frame: bool,
    draw_first_frame: bool,
    submission_key: UUID | None,
) -> Dream:
    """The dream row (after reserving its budget) and its first message, in the caller's
    transaction."""
    estimate = _reserve_budget(
        owner=owner,
        backend=backend,
        duration_seconds=request.duration_seconds,
        draws=draw_first_frame,
    )
    dream = Dream.objects.create(
        owner=owner,
        character=character,
        character_name=character.name,
        prompt=request.prompt,
        backend=backend.name,
        seed=request.seed,
        requested_seconds=request.duration_seconds,
        aspect_ratio=request.aspect_ratio,
        first_frame=first_frame,
        draw_first_frame=draw_first_frame,
        estimated_cost_usd=estimate,
        stage="waiting for a worker",
        submission_key=submission_key,
    )
    _queue_attempt(dream, backend)
    return dream


def cancel_dream(*, dream: Dream) -> Dream:
    """Stop a queued or running dream; a running render stops at its next progress report and
    keeps no partial video. Raises ``DreamError`` if the dream has already finished."""
    if not lifecycle.cancel(dream):
        raise DreamError(f"This dream has already {_finished_as(dream)}.")
    let_go_of_invocations(dream)
    return dream


def _finished_as(dream: Dream) -> str:
    """How a finished dream ended, to follow "This dream has already"."""
    endings: dict[str, str] = {
        DreamStatus.SUCCEEDED: "succeeded",
        DreamStatus.FAILED: "failed",
        DreamStatus.CANCELED: "been cancelled",
    }
    return endings.get(dream.status, "stopped")


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
            owner=dream.owner,
            backend=video_backend,
            duration_seconds=dream.requested_seconds,
            draws=dream.draw_first_frame,
        )
        requeued = lifecycle.requeue(
            dream,
            stage="waiting for a worker",
            from_statuses=RETRYABLE_STATUSES,
            estimated_cost_usd=estimate,
            cost_usd=None,
            started_at=None,
            # A new take: the sweeper counts the attempts of this one only.
            attempts=0,
        )
        if not requeued:
            raise DreamError("Only a failed or cancelled dream can be retried.")
        _queue_attempt(dream, video_backend)
    return dream


def delete_dream(*, dream: Dream) -> None:
    """Delete a dream and its files; a render still going stops and keeps nothing. Its
    invocations stay, detached, as the spending record."""
    with transaction.atomic():
        names = [name for name in (dream.video.name, dream.poster.name) if name]
        let_go_of_invocations(dream, detach=True)
        dream.delete()

        def delete_files() -> None:
            for name in names:
                default_storage.delete(name)

        transaction.on_commit(delete_files)
