"""What rendering a film will take, as its storyboard stands: its length, its cost per scene
and in total, the time it will take, and what must be fixed first (``quote_film``); and whether
rendering it now would change its video at all (``film_has_changes``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from generation.assembly import TRANSITION_SECONDS
from generation.registry import UnknownBackend, get_backend
from generation.video import ClipRequest, InvalidClipRequest
from generation.voices import find_voice, unreadable_script

from .assembly import assembly_key
from .clips import clip_fresh, drawn_keyframes, scene_prompt
from .models import MAX_FILM_SECONDS, Film, Scene
from .narration import needed_seconds, scene_length, spoken_seconds

#: Seconds of work per second of film on the embedded default, and the fixed part (the
#: assembly's joins, the sound's two passes), to estimate a render's time: a 10-minute film took
#: 252 s on a 2-core machine (the estimate of 1.5 s per second said 892 s; issue 22).
RENDER_SECONDS_PER_FILM_SECOND, RENDER_SECONDS_FIXED = 0.42, 10.0
#: Seconds a cloud scene adds to the estimate (the provider's queue and the download).
CLOUD_SECONDS_PER_SCENE = 90


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


def film_has_changes(*, film: Film) -> bool:
    """Whether rendering ``film`` now would change its video: it has none yet, a scene's clip
    is stale, or the assembly's inputs (order, transitions, title, subtitles) changed."""
    if not film.video:
        return True
    scenes = list(film.scenes.prefetch_related("cast").order_by("position"))
    previous: Scene | None = None
    for scene in scenes:
        if not clip_fresh(scene, previous=previous):
            return True
        previous = scene
    return film.assembly_key != assembly_key(film, scenes)


def quote_film(*, film: Film) -> Quote:
    """The length, cost and time of rendering ``film`` as its storyboard stands, per scene and
    in total, and what stops it from rendering."""
    problems: list[str] = []
    if film.is_writing:
        problems.append("The script is not written yet.")
    elif film.revision_scope:
        problems.append("A language model is rewriting the script; wait until it is done.")
    try:
        backend = get_backend(film.backend, offered_only=False)
    except UnknownBackend:
        return Quote(0, Decimal(0), [], [], 0, [f"The backend “{film.backend}” is not available."])
    scenes = list(film.scenes.select_related("film").prefetch_related("cast").order_by("position"))
    lengths, costs = [], []
    previous: Scene | None = None
    for scene in scenes:
        fresh = clip_fresh(scene, previous=previous)
        drawn = drawn_keyframes(film, continues=film.chaining and previous is not None)
        previous = scene
        spoken = spoken_seconds(scene)
        length = scene_length(scene, backend, spoken=spoken)
        if length is None:
            needed = needed_seconds(scene, spoken=spoken)
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
        request = ClipRequest(
            prompt=scene_prompt(scene), seed=0, duration_seconds=length,
            aspect_ratio=film.aspect_ratio, scene=True,
        )  # fmt: skip
        try:
            backend.validate(request)
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
        + CLOUD_SECONDS_PER_SCENE * (backend.queue == "cloud") * len(scenes)
    )
    return Quote(
        seconds, sum(costs, start=Decimal(0)), lengths, costs, render_seconds, problems,
        _unreadable_narrations(film, scenes),
    )  # fmt: skip


def _unreadable_narrations(film: Film, scenes: list[Scene]) -> list[str]:
    """A warning for each scene whose narration is in letters the film's voice cannot read."""
    voice = find_voice(film.voice)
    if voice is None:
        return []
    warnings = []
    for scene in scenes:
        script = unreadable_script(scene.narration, voice)
        if script:
            warnings.append(
                f"Scene {scene.number}'s narration is in {script.title()} letters, which the "
                f"voice “{voice.label}” cannot read: it would speak noise. Rewrite it, or make "
                "the film with a voice in its language."
            )
    return warnings
