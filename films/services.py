"""Film actions: creating a film from a brief, editing its storyboard, rendering it, and
cancelling, retrying, re-rendering a scene or deleting it.

Each action checks everything first and raises ``FilmError`` with a message for the user
before it writes; writes happen in one transaction and messages are sent once it commits.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.models import User
from characters.models import Character
from generation.assembly import TRANSITION_SECONDS
from generation.gpu_keyframes import drawing_problem
from generation.music import MOODS
from generation.registry import UnknownBackend, get_backend
from generation.script import GENRES, MIN_SCENES, write_script
from generation.script import MAX_SCENES as SCRIPT_MAX_SCENES
from generation.speech import find_voice, unreadable_script
from generation.styles import STYLES
from generation.video import (
    ClipBackend,
    ClipRenderer,
    ClipRequest,
    InvalidClipRequest,
    visible_text,
)
from jobs import budget, lifecycle
from jobs.dispatch import Step, send, send_next_on_commit
from jobs.invocations import let_go_of_invocations, new_invocation
from jobs.models import ACTIVE_STATUSES, RETRYABLE_STATUSES, JobStatus

from . import keys, steps
from .models import (
    IDEA_MAX_CHARS,
    MAX_FILM_SECONDS,
    MAX_SCENES,
    MIN_FILM_SECONDS,
    NARRATION_MAX_CHARS,
    THEME_MAX_CHARS,
    Film,
    Scene,
)
from .scenes import drawn_keyframes, scene_prompt

#: Words a narrator speaks per second, to estimate a scene not yet spoken (about 150 a minute).
WORDS_PER_SECOND = 2.5
#: Seconds of work per second of film on the embedded default, and the fixed part (the
#: assembly's joins, the sound's two passes), to estimate a render's time: a 10-minute film took
#: 252 s on a 2-core machine (the estimate of 1.5 s per second said 892 s; issue 22).
RENDER_SECONDS_PER_FILM_SECOND, RENDER_SECONDS_FIXED = 0.42, 10.0
SEED_MAX = 2_147_483_646


class FilmError(ValueError):
    """A request about a film cannot be carried out; ``message`` says why, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _check_brief(
    *, owner: User, idea: str, theme: str, genre: str, style: str, cast: Sequence[Character],
    voice: str, music_mood: str, target_seconds: int, scene_count: int | None,
) -> None:  # fmt: skip
    if not visible_text(idea):
        raise FilmError("Write the idea of your film: what happens, to whom?")
    if len(idea) > IDEA_MAX_CHARS:
        raise FilmError(f"The idea is {len(idea)} characters; keep it under {IDEA_MAX_CHARS}.")
    if len(theme) > THEME_MAX_CHARS:
        raise FilmError(f"The theme is {len(theme)} characters; keep it under {THEME_MAX_CHARS}.")
    if not cast:
        raise FilmError("Choose one to three of your characters for the cast.")
    if len(cast) > 3:
        raise FilmError("A film's cast has at most three characters.")
    if any(character.owner_id != owner.pk for character in cast):
        raise FilmError("Choose the cast from your own characters.")
    for character in cast:
        if not character.images.exists():
            raise FilmError(f"“{character.name}” has no reference photos yet.")
    if genre not in GENRES:
        raise FilmError(f"Unknown genre “{genre}”.")
    if style not in STYLES:
        raise FilmError(f"Unknown visual style “{style}”.")
    if find_voice(voice) is None:
        raise FilmError(f"The voice “{voice}” is not installed on this site.")
    if music_mood not in ("", "none", *MOODS):
        raise FilmError(f"Unknown music mood “{music_mood}”.")
    if not MIN_FILM_SECONDS <= target_seconds <= MAX_FILM_SECONDS:
        raise FilmError(
            f"A film lasts {MIN_FILM_SECONDS} seconds to {MAX_FILM_SECONDS // 60} minutes, "
            f"not {target_seconds} seconds."
        )
    if scene_count is not None and not MIN_SCENES <= scene_count <= SCRIPT_MAX_SCENES:
        raise FilmError(
            f"A new film has {MIN_SCENES} to {SCRIPT_MAX_SCENES} scenes, not {scene_count}."
        )


def _backend(name: str) -> ClipBackend:
    try:
        return get_backend(name)
    except UnknownBackend:
        raise FilmError(f"The backend “{name}” is not available.") from None


def create_film(
    *,
    owner: User,
    idea: str,
    genre: str,
    style: str,
    cast: Sequence[Character],
    voice: str,
    backend: str,
    target_seconds: int = 60,
    title: str = "",
    theme: str = "",
    music_mood: str = "",
    aspect_ratio: str | None = None,
    scene_count: int | None = None,
    chaining: bool = True,
    burn_subtitles: bool = False,
    draw_keyframes: bool = False,
    seed: int | None = None,
    submission_key: UUID | None = None,
) -> Film:
    """A draft film with its script written (offline) and its storyboard being prepared.

    The script has ``scene_count`` scenes (default: by ``target_seconds``). Nothing paid
    runs: keyframes and narration are made offline for the storyboard. The same
    ``submission_key`` sent again returns the film it made. Raises ``FilmError`` (nothing
    saved) for an empty or over-long idea, a cast that is empty, too large, someone else's or
    without photos, an unknown genre, style, voice or mood, a length or scene count out of
    range, a backend not offered, or ``draw_keyframes`` (the GPU draws each scene's keyframes
    from the cast's photos when it renders) where the backend or the keyframe model cannot.
    Control characters are dropped from the title, idea and theme (a title is one line).
    """
    title = " ".join(visible_text(title).split())
    idea, theme = visible_text(idea), visible_text(theme)
    if submission_key is not None:
        earlier = Film.objects.filter(owner=owner, submission_key=submission_key).first()
        if earlier is not None:
            return earlier
    _check_brief(
        owner=owner, idea=idea, theme=theme, genre=genre, style=style, cast=cast, voice=voice,
        music_mood=music_mood, target_seconds=target_seconds, scene_count=scene_count,
    )  # fmt: skip
    clip_backend = _backend(backend)
    aspect = aspect_ratio or clip_backend.capabilities.aspect_ratios[0]
    offered = clip_backend.capabilities.aspect_ratios
    if aspect not in offered:
        raise FilmError(f"{clip_backend.label} makes {', '.join(offered)} video, not {aspect}.")
    if draw_keyframes:
        problem = drawing_problem(clip_backend)
        if problem:
            raise FilmError(f"The keyframes cannot be drawn on the GPU now. {problem}")
    seed = random.SystemRandom().randint(0, SEED_MAX) if seed is None else seed
    from generation.script import scene_count_for

    script = write_script(
        idea=idea,
        theme=theme,
        genre=genre,
        cast=[character.name for character in cast],
        scene_count=scene_count or scene_count_for(target_seconds),
        target_seconds=target_seconds,
        seed=seed,
        title=title,
    )
    by_name = {character.name: character for character in cast}
    try:
        with transaction.atomic():
            film = Film.objects.create(
                owner=owner, title=script["title"], logline=script["logline"], idea=idea.strip(),
                genre=genre, theme=theme.strip(), style=style, target_seconds=target_seconds,
                voice=voice, music_mood=music_mood, aspect_ratio=aspect, chaining=chaining,
                burn_subtitles=burn_subtitles, draw_keyframes=draw_keyframes, seed=seed,
                backend=clip_backend.name,
                status=JobStatus.DRAFT, stage="storyboard", submission_key=submission_key,
            )  # fmt: skip
            film.cast.set(cast)
            rng = random.Random(f"scenes-{seed}")
            for position, written in enumerate(script["scenes"]):
                scene = Scene.objects.create(
                    film=film, owner=owner, position=position, heading=written["heading"],
                    shot=written["shot"], narration=written["narration"],
                    first_frame_text=written["first_frame"], last_frame_text=written["last_frame"],
                    framing=written["framing"], planned_seconds=written["duration_seconds"],
                    keyframe_seed=rng.randint(0, SEED_MAX), clip_seed=rng.randint(0, SEED_MAX),
                    backend=clip_backend.name, status=JobStatus.DRAFT,
                )  # fmt: skip
                scene.cast.set([by_name[name] for name in written["cast"] if name in by_name])
            _prepare_on_commit(film)
    except IntegrityError:
        earlier = Film.objects.filter(owner=owner, submission_key=submission_key).first()
        if submission_key is None or earlier is None:
            raise
        return earlier
    return film


def _prepare_on_commit(film: Film) -> None:
    transaction.on_commit(lambda: send(Step("prepare_storyboard", (film.pk,))))


def _editable(film: Film, doing: str = "edit it") -> None:
    """Raise ``FilmError`` while the film renders; ``doing`` names what the user tried."""
    if not film.can_edit:
        raise FilmError(f"The film is rendering; cancel it or wait until it ends to {doing}.")


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
        _prepare_on_commit(film)
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
        _prepare_on_commit(film)
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
        names, deleted = _file_names(scene), scene.pk
        let_go_of_invocations(scene, detach=True)
        scene.delete()
        _renumber([s for s in ordered if s.pk != deleted])
        transaction.on_commit(lambda: _delete_files(names))


def _delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def reroll_keyframes(*, scene: Scene) -> None:
    """Draw the scene's keyframes again with a new seed (free, offline). Raises
    ``FilmError`` while the film renders."""
    _editable(scene.film)
    with transaction.atomic():
        Scene.objects.filter(pk=scene.pk).update(
            keyframe_seed=random.SystemRandom().randint(0, SEED_MAX)
        )
        _prepare_on_commit(scene.film)


@dataclass(frozen=True)
class Quote:
    """What rendering a film will take: ``seconds`` of film, ``cost_usd`` in total and per
    scene (``scene_costs``, in scene order), and ``render_seconds``, an estimate of the wall
    time. ``problems`` lists what must be fixed first (empty: it can render)."""

    seconds: float
    cost_usd: Decimal
    scene_seconds: list[float]
    scene_costs: list[Decimal]
    render_seconds: float
    problems: list[str]
    #: What will render but not as the user expects (a voice that cannot read the narration).
    warnings: list[str] = field(default_factory=list)


def _spoken_seconds(scene: Scene) -> float:
    if scene.narration_seconds is not None and scene.narration_key == keys.narration_key(scene):
        return scene.narration_seconds
    return len(scene.narration.split()) / WORDS_PER_SECOND


def _clip_is_fresh(scene: Scene, previous: Scene | None) -> bool:
    """Whether the scene's clip is made and none of its inputs changed since."""
    if not scene.clip or scene.status != JobStatus.SUCCEEDED:
        return False
    current = scene.keyframes_key == keys.keyframes_key(
        scene
    ) and scene.narration_key == keys.narration_key(scene)
    return current and scene.clip_key == keys.clip_key(scene, previous=previous)


def film_chapters(*, film: Film) -> list[tuple[str, float]]:
    """The chapters of the film's current cut, as the MP4 carries them: (title, start in
    seconds) per scene; none while there is no cut, or while a scene has no clip yet."""
    from .assembling import layout

    scenes = list(film.scenes.order_by("position"))
    if not film.video or not scenes or any(not s.clip_seconds for s in scenes):
        return []
    plan = layout(film, scenes, [s.clip_seconds or 0.0 for s in scenes])
    return [
        (f"{s.number}. {s.heading}", round(start, 2))
        for s, start in zip(scenes, plan.starts_seconds, strict=False)
    ]


def film_has_changes(*, film: Film) -> bool:
    """Whether rendering ``film`` now would change its video: it has none yet, a scene's clip
    is stale, or the assembly's inputs (order, transitions, title, subtitles) changed."""
    if not film.video:
        return True
    scenes = list(film.scenes.prefetch_related("cast").order_by("position"))
    previous: Scene | None = None
    for scene in scenes:
        if not _clip_is_fresh(scene, previous):
            return True
        previous = scene
    return film.assembly_key != keys.assembly_key(film, scenes)


def quote_film(*, film: Film) -> Quote:
    """The length, cost and time of rendering ``film`` as its storyboard stands, per scene and
    in total, and what stops it from rendering."""
    problems: list[str] = []
    try:
        backend = get_backend(film.backend, offered_only=False)
    except UnknownBackend:
        return Quote(0, Decimal(0), [], [], 0, [f"The backend “{film.backend}” is not available."])
    scenes = list(film.scenes.select_related("film").prefetch_related("cast").order_by("position"))
    lengths, costs = [], []
    previous: Scene | None = None
    for scene in scenes:
        fresh = _clip_is_fresh(scene, previous)
        drawn = drawn_keyframes(film, continues=film.chaining and previous is not None)
        previous = scene
        spoken = _spoken_seconds(scene)
        length = steps.scene_length(scene, backend, spoken_seconds=spoken)
        if length is None:
            needed = steps.needed_seconds(scene, spoken_seconds=spoken)
            problems.append(
                f"Scene {scene.number}: its narration needs {needed:.1f} s; "
                f"{backend.label} makes at most {backend.longest_scene_seconds():g} s. Shorten it."
            )
            length = backend.longest_scene_seconds()
        if fresh and scene.clip_seconds:
            length = scene.clip_seconds
        lengths.append(length)
        costs.append(
            Decimal(0) if fresh else backend.estimate_cost_usd(length, drawn_keyframes=drawn)
        )
        try:
            backend.validate(
                ClipRequest(
                    prompt=scene_prompt(scene),
                    seed=0,
                    duration_seconds=length,
                    aspect_ratio=film.aspect_ratio,
                    scene=True,
                )
            )
        except InvalidClipRequest as error:
            if "makes clips of" not in error.message:
                problems.append(f"Scene {scene.number}: {error.message}")
    overlaps = sum(TRANSITION_SECONDS for s in scenes[:-1] if s.transition != "cut")
    seconds = sum(lengths) - overlaps
    if seconds > MAX_FILM_SECONDS:
        problems.append(
            f"The film would last {seconds / 60:.1f} minutes; a film lasts at most "
            f"{MAX_FILM_SECONDS // 60} minutes. Remove or shorten scenes."
        )
    render_seconds = (
        RENDER_SECONDS_FIXED
        + seconds * RENDER_SECONDS_PER_FILM_SECOND
        + 90 * (backend.queue == "cloud") * len(scenes)
    )
    voice = find_voice(film.voice)
    warnings = []
    for scene in scenes:
        script = unreadable_script(scene.narration, voice) if voice else None
        if script:
            warnings.append(
                f"Scene {scene.number}'s narration is in {script.title()} letters, which the "
                f"voice “{voice.label if voice else film.voice}” cannot read: it would speak "
                "noise. Rewrite it, or make the film with a voice in its language."
            )
    return Quote(
        seconds, sum(costs, start=Decimal(0)), lengths, costs, render_seconds, problems, warnings
    )


def render_film(*, film: Film) -> Film:
    """Render a film as its storyboard stands: reserve its whole quote against the owner's
    daily budget (each paid scene's charge is made now), then queue it. Only stale steps
    are made again. Raises ``FilmError`` when it is already rendering, has a problem (see
    ``quote_film``), its backend is not offered, or it goes over the budget."""
    if film.is_active:
        raise FilmError("This film is already rendering.")
    backend = _backend(film.backend)
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
        Film.objects.filter(pk=film.pk).update(
            status=JobStatus.QUEUED, stage="waiting for a worker", progress=0.0, error="",
            failure_kind="", estimated_cost_usd=estimate, cost_usd=None, job_message_id="",
            attempts=F("attempts") + 1, finished_at=None,
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
                backend=backend.name, estimated_cost_usd=cost,
                **({"status": JobStatus.DRAFT} if scene.status in RETRYABLE_STATUSES else {}),
            )  # fmt: skip
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


def _file_names(scene: Scene) -> list[str]:
    fields = (
        "first_keyframe",
        "last_keyframe",
        "narration_audio",
        "clip",
        "clip_last_frame",
        "thumbnail",
    )
    return [getattr(scene, f).name for f in fields if getattr(scene, f)]


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
            names += _file_names(scene)
            let_go_of_invocations(scene, detach=True)
        public_id = film.public_id
        film.delete()

        def delete_files() -> None:
            for name in names:
                default_storage.delete(name)
            # And whatever else is in its folder: pieces, a file a worker stored meanwhile.
            steps.delete_film_files(public_id)

        transaction.on_commit(delete_files)
