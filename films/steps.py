"""The offline steps of a film, each a row plus files: a scene's keyframes and narration, the
film's music bed (its assembly is ``films.assembling``). Files go through Django's storage;
work happens in a local work folder. Each step records the key of the inputs it was made
from (``films.keys``)."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.db.models.fields.files import FieldFile

from generation import assembly
from generation.music import MOODS, music_available, render_music, write_midi
from generation.script import GENRES
from generation.speech import find_voice, synthesise
from generation.video import ClipBackend

from . import keys
from .models import Film, Scene, film_media_path

#: Seconds of picture before the narrator speaks, and after the narration ends.
NARRATION_LEAD, BREATH = 0.3, 0.7
#: Most seconds a scene runs on past what its narration needs, however long it was planned:
#: a viewer hears music alone as an empty film (one where narration covered 14 s of 52 felt
#: like "a narrated slideshow").
MAX_QUIET_SECONDS = 3.0
#: Keyframe and film sizes in pixels, by aspect ratio.
FRAME_SIZES = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960)}

Progress = Callable[[str, float], None]

logger = logging.getLogger(__name__)


class StepError(RuntimeError):
    """A step failed; ``stage`` names it and ``message`` says why, for the user."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage, self.message = stage, message


def frame_size(aspect_ratio: str) -> tuple[int, int]:
    """Width and height in pixels of a film's frames."""
    return FRAME_SIZES.get(aspect_ratio, FRAME_SIZES["16:9"])


def fetch(field: FieldFile, path: Path) -> Path:
    """Copy a stored file to ``path`` (local disk or S3 alike); returns ``path``."""
    with field.open("rb") as source, path.open("wb") as target:
        shutil.copyfileobj(source, target)
    return path


def store(film: Film, name: str, path: Path) -> str:
    with path.open("rb") as data:
        return default_storage.save(film_media_path(film.public_id, name), File(data))


class FilmGone(Exception):
    """The film or scene was deleted while a step worked on it; what the step stored for it
    has been deleted again."""


def delete_film_files(public_id: uuid.UUID) -> None:
    """Delete every file stored under the film's folder (``films/<public_id>/``, its pieces
    included), on local disk or S3 alike: what a worker stored while the film was being
    deleted goes too."""

    def remove(folder: str) -> None:
        try:
            folders, files = default_storage.listdir(folder)
        except (FileNotFoundError, NotImplementedError):
            return
        for name in files:
            default_storage.delete(f"{folder}/{name}")
        for child in folders:
            remove(f"{folder}/{child}")

    remove(f"films/{public_id}")


def _save(
    row: Scene | Film, *, files: dict[str, str], key_field: str, key: str, **values: Any
) -> bool:
    """Point the row's file fields at the new ``files`` and set ``key_field`` to ``key`` and
    ``values`` in one update, under a row lock, then delete the files they replace: a file
    and what was measured from it are never seen apart, and no earlier file is left behind.

    When another worker stored a result for the same ``key`` meanwhile, that one is kept and
    ours deleted (the row is refreshed from it); returns False. Raises ``FilmGone`` (after
    deleting the new files) when the row was deleted meanwhile."""
    model = type(row)
    fields = [*files, key_field]
    with transaction.atomic():
        current = (
            model._default_manager.select_for_update().filter(pk=row.pk).values(*fields).first()
        )
        if current is not None and not (
            current[key_field] == key and all(current[field] for field in files)
        ):
            model._default_manager.filter(pk=row.pk).update(**files, **values, **{key_field: key})
    if current is None:
        _delete_files(files.values())
        raise FilmGone()
    if current[key_field] == key and all(current[field] for field in files):
        _delete_files(files.values())
        row.refresh_from_db(fields=[*fields, *values])
        return False
    _delete_files(name for name in (current[f] for f in files) if name not in files.values())
    for field, value in {**files, **values, key_field: key}.items():
        setattr(row, field, value)
    return True


def _delete_files(names: Iterable[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def needed_seconds(scene: Scene, *, spoken_seconds: float | None = None) -> float:
    """How long a scene must last, in seconds (audio first, so no clip freezes on its last
    frame): its narration (``spoken_seconds``, default the spoken narration's length) with a
    lead-in and a breath, plus the transition the next scene overlaps it by."""
    spoken = scene.narration_seconds if spoken_seconds is None else spoken_seconds
    overlap = 0.0 if scene.transition == "cut" else assembly.TRANSITION_SECONDS
    return round(NARRATION_LEAD + (spoken or 0.0) + BREATH + overlap, 2)


def scene_length(
    scene: Scene, backend: ClipBackend, *, spoken_seconds: float | None = None
) -> float | None:
    """The clip length, in seconds, a scene gets on ``backend``: paced by its narration, as long
    as the words need (``needed_seconds``), and up to ``MAX_QUIET_SECONDS`` more where the plan
    was longer, so no scene is a long stretch of music alone; within the backend's lengths.
    None when even the narration is longer than the backend makes."""
    needed = needed_seconds(scene, spoken_seconds=spoken_seconds)
    paced = max(needed, min(scene.planned_seconds, needed + MAX_QUIET_SECONDS))
    return backend.scene_duration(paced) or backend.scene_duration(needed)


def make_keyframes(scene: Scene, *, workdir: Path) -> None:
    """Compose the scene's first and last keyframes from its cast's photos in the film's
    style and store them. Raises ``StepError`` when a character has no photo."""
    from generation.framing import compose_keyframe
    from generation.video import InvalidClipRequest

    film = scene.film
    key = keys.keyframes_key(scene)
    width, height = frame_size(film.aspect_ratio)
    characters = list(scene.cast.all()) or list(film.cast.order_by("pk")[:1])
    names = {}
    for which, offset in (("first", 0), ("last", 1)):
        portraits = []
        for character in characters:
            images = character.ordered_images()
            if not images:
                raise StepError("keyframes", f"“{character.name}” has no reference photos.")
            # A chained scene's clip opens on the previous clip's end, so its first keyframe is
            # never seen: its last one takes the photos the first would have (where the cast
            # is composed), or the lead could vanish from a film whose later photos are not
            # of them.
            photo = 0 if keys.closes_chained(scene) else offset
            image = images[(scene.keyframe_seed + photo) % len(images)]
            portraits.append(fetch(image.image, workdir / f"{which}-{character.pk}.jpg"))
        try:
            keyframe = compose_keyframe(
                portraits,
                framing=scene.framing,
                style=film.style,
                width=width,
                height=height,
                seed=scene.keyframe_seed + offset,
            )
        except InvalidClipRequest as error:
            raise StepError("keyframes", error.message) from error
        path = workdir / f"scene-{scene.number}-{which}.jpg"
        keyframe.save(path, "JPEG", quality=92)
        names[f"{which}_keyframe"] = store(film, path.name, path)
    _save(scene, files=names, key_field="keyframes_key", key=key)


def make_narration(scene: Scene, *, workdir: Path) -> None:
    """Speak the scene's narration with the film's voice and store it with its cues. Raises
    ``StepError`` when the voice is not installed or the engine fails."""
    from generation.speech import SpeechError

    film = scene.film
    key = keys.narration_key(scene)
    voice = find_voice(film.voice)
    if voice is None:
        raise StepError("narration", f"The voice “{film.voice}” is not installed here.")
    path = workdir / f"scene-{scene.number}-narration.wav"
    try:
        spoken = synthesise(scene.narration, voice=voice, path=path, workdir=workdir)
    except SpeechError as error:
        raise StepError("narration", error.message) from error
    cues = [
        {"text": c.text, "start": c.start, "end": c.end, "words": [list(w) for w in c.words]}
        for c in spoken.cues
    ]
    _save(
        scene,
        files={"narration_audio": store(film, path.name, path)},
        key_field="narration_key",
        key=key,
        narration_seconds=round(spoken.seconds, 3),
        cues=cues,
    )


def stale_steps(scene: Scene) -> list[tuple[str, Callable[..., None]]]:
    """The scene's steps whose results are missing or were made from other inputs, in order:
    (stage, make) pairs of "keyframes" and "narration"."""
    steps: list[tuple[str, Callable[..., None]]] = []
    if scene.keyframes_key != keys.keyframes_key(scene) or not scene.first_keyframe:
        steps.append(("keyframes", make_keyframes))
    if scene.narration_key != keys.narration_key(scene) or not scene.narration_audio:
        steps.append(("narration", make_narration))
    return steps


def prepare_scene(scene: Scene, *, workdir: Path) -> bool:
    """Make whichever of the scene's keyframes and narration are stale; returns whether
    anything was made. Raises ``StepError`` naming the step that failed, whatever went wrong
    in it (an unexpected error is logged with its traceback and named by its type), so no
    caller is left holding a film that is still "running"; a lost database is re-raised for
    the actor to retry, and ``FilmGone`` when the scene was deleted meanwhile."""
    made = False
    for stage, _ in stale_steps(scene):
        with _one_at_a_time(scene, stage):
            # Another worker may have made it while this one waited: look again.
            try:
                scene.refresh_from_db(fields=[*STEP_FIELDS[stage], "keyframe_seed", "narration"])
            except Scene.DoesNotExist:
                raise FilmGone() from None
            make = dict(stale_steps(scene)).get(stage)
            if make is None:
                continue
            try:
                make(scene, workdir=workdir)
            except (StepError, DatabaseError, FilmGone):
                raise
            except Exception as error:
                logger.exception("The %s of scene %s failed", stage, scene.pk)
                raise StepError(stage, unexpected(error)) from error
        made = True
    return made


#: The fields each step writes.
STEP_FIELDS = {
    "keyframes": ("first_keyframe", "last_keyframe", "keyframes_key"),
    "narration": ("narration_audio", "narration_key", "narration_seconds", "cues"),
}
#: Longest one step of one scene holds its lock, and longest another worker waits for it, in
#: seconds (a narration of 1,000 characters takes Piper about 20 s on 2 cores).
STEP_LOCK_SECONDS, STEP_WAIT_SECONDS = 300, 120


@contextmanager
def _one_at_a_time(scene: Scene, stage: str) -> Iterator[None]:
    """Hold ``stage`` of ``scene`` for this worker (the storyboard's preparation and a render
    both prepare scenes): a second worker waits, then finds it made. A lock in the cache
    (``cache.add`` is atomic on Redis and in one process's memory); past the wait the worker
    goes ahead, and ``_save`` still keeps one result."""
    key, token = f"film-step:{scene.pk}:{stage}", uuid.uuid4().hex
    deadline = time.monotonic() + STEP_WAIT_SECONDS
    while not cache.add(key, token, timeout=STEP_LOCK_SECONDS):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    try:
        yield
    finally:
        if cache.get(key) == token:
            cache.delete(key)


def unexpected(error: BaseException) -> str:
    """The message a user gets for an error nobody foresaw: its type, not its text (which may
    hold paths or other people's data); the operator finds the traceback in the logs."""
    return (
        f"An internal error stopped it ({type(error).__name__}). "
        "The operator can see the details in the logs."
    )


def mood_of(film: Film) -> str | None:
    """The music mood a film gets: its own, the genre's, or None for no music."""
    if film.music_mood == "none":
        return None
    if film.music_mood in MOODS:
        return film.music_mood
    genre = GENRES.get(film.genre)
    return genre.music if genre else "calm"


def has_music(film: Film) -> bool:
    """Whether ``film`` gets a music bed: it asks for one and FluidSynth is installed."""
    return mood_of(film) is not None and music_available()


def make_music(film: Film, *, seconds: float, workdir: Path) -> Path | None:
    """The film's music bed as a local WAV of at least ``seconds`` (made and stored when its
    key changed), or None for a film without music or a machine without FluidSynth."""
    mood = mood_of(film)
    if mood is None or not music_available():
        return None
    key = keys.music_key(film, seconds)
    path = workdir / "music.wav"
    if film.music_key == key and film.music:
        return fetch(film.music, path)
    from generation.music import MusicError

    midi = workdir / "music.mid"
    try:
        write_midi(mood=mood, seconds=seconds, path=midi, seed=film.seed)
        render_music(midi_path=midi, path=path)
    except MusicError as error:
        raise StepError("music", error.message) from error
    _save(film, files={"music": store(film, "music.wav", path)}, key_field="music_key", key=key)
    return path
