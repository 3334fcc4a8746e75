"""Film actions a user takes: editing the storyboard (a scene's script, its order, adding and
deleting scenes, new keyframes), rendering the film, cancelling, retrying, rendering a scene
again, and deleting the film. (Creating one is the script step: ``films.script``.)

Each action checks everything first and raises ``FilmError`` with a message for the user
before it writes; writes happen in one transaction and messages are sent once it commits.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from django.db import transaction

from characters.models import Character
from generation.video import ClipRenderer, visible_text
from jobs import budget, lifecycle
from jobs.dispatch import send_next_on_commit
from jobs.invocations import let_go_of_invocations, new_invocation
from jobs.models import ACTIVE_STATUSES, IDLE_STATUSES, RETRYABLE_STATUSES, JobStatus

from .brief import offered_backend
from .clips import drawn_keyframes
from .errors import FilmError
from .files import delete_files, delete_film_files, scene_file_names
from .models import MAX_SCENES, NARRATION_MAX_CHARS, SEED_MAX, Film, Scene
from .quote import quote_film
from .storyboard import prepare_on_commit


def _editable(film: Film, doing: str = "edit it") -> None:
    """Raise ``FilmError`` while the film renders; ``doing`` names what the user tried."""
    if not film.can_edit:
        raise FilmError(f"The film is rendering; cancel it or wait until it ends to {doing}.")
    if film.revision_scope:
        raise FilmError(
            f"A language model is rewriting the script; wait until it is done to {doing}."
        )


def update_scene(
    *, scene: Scene, heading: str, shot: str, narration: str, first_frame_text: str,
    last_frame_text: str, framing: str, transition: str, cast: Sequence[Character] | None = None,
) -> Scene:  # fmt: skip
    """Change a scene's script. What depends on the change (keyframes, narration, clip, the
    assembly) becomes stale and is made again: keyframes and narration right away for the
    storyboard, the rest when the film is rendered. Raises ``FilmError`` for an empty or
    over-long text, an unknown framing or transition, a cast outside the film's, or a film
    that is rendering."""
    film = scene.film
    _editable(film)
    texts = {
        "heading": (heading, 120),
        "shot": (shot, 500),
        "narration": (narration, NARRATION_MAX_CHARS),
        "first frame": (first_frame_text, 500),
        "last frame": (last_frame_text, 500),
    }
    for label, (text, limit) in texts.items():
        if not visible_text(text):
            raise FilmError(f"Scene {scene.number}: the {label} is empty.")
        if len(text) > limit:
            raise FilmError(
                f"Scene {scene.number}: the {label} is {len(text)} characters; at most {limit}."
            )
    if framing not in ("wide", "medium", "close"):
        raise FilmError(f"Unknown framing “{framing}”.")
    if transition not in ("crossfade", "dip", "cut"):
        raise FilmError(f"Unknown transition “{transition}”.")
    if cast is not None:
        allowed = set(film.cast.values_list("pk", flat=True))
        if not cast or any(character.pk not in allowed for character in cast):
            raise FilmError(f"Scene {scene.number}: choose its cast from the film's cast.")
    with transaction.atomic():
        Scene.objects.filter(pk=scene.pk).update(
            heading=heading.strip(), shot=shot.strip(), narration=narration.strip(),
            first_frame_text=first_frame_text.strip(), last_frame_text=last_frame_text.strip(),
            framing=framing, transition=transition, error="",
        )  # fmt: skip
        if cast is not None:
            scene.cast.set(cast)
        prepare_on_commit(film)
    scene.refresh_from_db()
    return scene


def move_scene(*, scene: Scene, offset: int) -> None:
    """Move a scene ``offset`` places (-1 earlier, +1 later), swapping it with its neighbour.
    Raises ``FilmError`` past either end or while the film renders."""
    _editable(scene.film)
    with transaction.atomic():
        ordered = list(
            Scene.objects.select_for_update().filter(film=scene.film).order_by("position")
        )
        index = next(i for i, s in enumerate(ordered) if s.pk == scene.pk)
        target = index + offset
        if not 0 <= target < len(ordered):
            raise FilmError("The scene cannot move further that way.")
        ordered[index], ordered[target] = ordered[target], ordered[index]
        _renumber(ordered)


def _renumber(ordered: list[Scene]) -> None:
    for position, each in enumerate(ordered):
        if each.position != position:
            Scene.objects.filter(pk=each.pk).update(position=position)


def add_scene(*, film: Film, after: Scene | None = None) -> Scene:
    """Add a scene after ``after`` (or at the end), written as a bridge between its
    neighbours and cast with the film's lead. Raises ``FilmError`` at ``MAX_SCENES`` scenes or
    while the film renders."""
    _editable(film)
    with transaction.atomic():
        ordered = list(Scene.objects.select_for_update().filter(film=film).order_by("position"))
        if len(ordered) >= MAX_SCENES:
            raise FilmError(f"A film has at most {MAX_SCENES} scenes.")
        lead = film.cast.order_by("pk").first()
        name = lead.name if lead else "the hero"
        rng = random.Random()
        scene = Scene.objects.create(
            film=film, owner=film.owner, position=len(ordered), heading="NEW SCENE",
            shot=f"{name} moves on to what comes next.", narration="And so the story went on.",
            first_frame_text=f"{name}, looking ahead.", last_frame_text=f"{name}, walking on.",
            planned_seconds=6.0, keyframe_seed=rng.randint(0, SEED_MAX),
            clip_seed=rng.randint(0, SEED_MAX), backend=film.backend, status=JobStatus.DRAFT,
        )  # fmt: skip
        if lead:
            scene.cast.set([lead])
        at = ordered.index(after) + 1 if after is not None and after in ordered else len(ordered)
        ordered.insert(at, scene)
        _renumber(ordered)
        prepare_on_commit(film)
    scene.refresh_from_db()
    return scene


def delete_scene(*, scene: Scene) -> None:
    """Delete a scene and its files. Raises ``FilmError`` for a film's only scene or while
    the film renders."""
    film = scene.film
    _editable(film)
    with transaction.atomic():
        ordered = list(Scene.objects.select_for_update().filter(film=film).order_by("position"))
        if len(ordered) <= 1:
            raise FilmError(
                "A film needs at least one scene; add another before deleting this one."
            )
        names, deleted = scene_file_names(scene), scene.pk
        let_go_of_invocations(scene, detach=True)
        scene.delete()
        _renumber([s for s in ordered if s.pk != deleted])
        transaction.on_commit(lambda: delete_files(names))


def reroll_keyframes(*, scene: Scene) -> None:
    """Draw the scene's keyframes again with a new seed (free, offline). Raises
    ``FilmError`` while the film renders."""
    _editable(scene.film)
    with transaction.atomic():
        Scene.objects.filter(pk=scene.pk).update(
            keyframe_seed=random.SystemRandom().randint(0, SEED_MAX)
        )
        prepare_on_commit(scene.film)


def render_film(*, film: Film) -> Film:
    """Render a film as its storyboard stands: reserve its whole quote against the owner's
    daily budget (each paid scene's charge is made now), then queue it. Only stale steps
    are made again. Raises ``FilmError`` when it is already rendering, has a problem (see
    ``quote_film``), its backend is not offered, or it goes over the budget."""
    if film.is_active:
        raise FilmError("This film is already rendering.")
    backend = offered_backend(film.backend)
    quote = quote_film(film=film)
    if quote.problems:
        raise FilmError(quote.problems[0])
    with transaction.atomic():
        locked = Film.objects.select_for_update().get(pk=film.pk)
        if locked.is_active:
            raise FilmError("This film is already rendering.")
        try:
            estimate = budget.reserve(
                owner=film.owner, estimate_usd=quote.cost_usd, what="This film",
                cheaper="Use fewer or shorter scenes, or the free animatic.",
            )  # fmt: skip
        except budget.BudgetExceeded as error:
            raise FilmError(error.message) from None
        lifecycle.requeue(
            locked, stage="waiting for a worker", from_statuses=IDLE_STATUSES,
            # A new take: the sweeper counts the attempts of this one only.
            estimated_cost_usd=estimate, cost_usd=None, attempts=0,
        )  # fmt: skip
        film.refresh_from_db()
        for index, (scene, seconds, cost) in enumerate(
            zip(
                film.scenes.order_by("position"),
                quote.scene_seconds,
                quote.scene_costs,
                strict=True,
            )
        ):
            Scene.objects.filter(pk=scene.pk).exclude(status__in=ACTIVE_STATUSES).update(
                backend=backend.name, estimated_cost_usd=cost
            )
            # A scene that failed or was cancelled is asked for again when its turn comes.
            lifecycle.reopen(scene)
            # A paid scene's invocation (or a GPU scene's GPU-seconds) is recorded now.
            if cost > 0 or isinstance(backend, ClipRenderer):
                scene.backend = backend.name
                new_invocation(
                    job=scene,
                    owner_id=film.owner_id,
                    backend=backend,
                    video_seconds=seconds,
                    estimate_usd=cost,
                    drawn_keyframes=drawn_keyframes(film, continues=film.chaining and index > 0),
                )
        send_next_on_commit(film)
    return film


def cancel_film(*, film: Film) -> Film:
    """Stop a film: its own work and every scene still queued or rendering. Raises
    ``FilmError`` when it is not rendering."""
    if not lifecycle.cancel(film):
        raise FilmError("This film is not rendering.")
    for scene in film.scenes.filter(status__in=ACTIVE_STATUSES):
        lifecycle.cancel(scene)
        let_go_of_invocations(scene)
    return film


def retry_film(*, film: Film) -> Film:
    """Render a failed or cancelled film again from what failed: finished steps are kept.
    Raises ``FilmError`` when it is not failed or cancelled."""
    if film.status not in RETRYABLE_STATUSES:
        raise FilmError("Only a failed or cancelled film can be retried.")
    return render_film(film=film)


def rerender_scene(*, scene: Scene) -> Film:
    """Render one scene again (a new take: a new clip seed, same keyframes), then whatever
    depends on it (the next scene, when it opens on this one's last frame and that changes)
    and the assembly; nothing else. Raises ``FilmError`` while the film renders."""
    film = scene.film
    _editable(film, f"render scene {scene.number} again")
    with transaction.atomic():
        # The new take's seed is kept only if the render is accepted.
        Scene.objects.filter(pk=scene.pk).update(
            clip_seed=random.SystemRandom().randint(0, SEED_MAX)
        )
        film.refresh_from_db()
        return render_film(film=film)


def delete_film(*, film: Film) -> None:
    """Delete a film, its scenes and every file; work still going stops and keeps nothing.
    Invocations stay, detached, as the spending record."""
    with transaction.atomic():
        names = [
            f.name
            for f in (film.video, film.poster, film.subtitles_vtt, film.subtitles_srt, film.music)
            if f
        ]
        for scene in film.scenes.all():
            names += scene_file_names(scene)
            let_go_of_invocations(scene, detach=True)
        public_id = film.public_id
        film.delete()

        def delete_all() -> None:
            delete_files(names)
            # And whatever else is in its folder: pieces, a file a worker stored meanwhile.
            delete_film_files(public_id)

        transaction.on_commit(delete_all)
