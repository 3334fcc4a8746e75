"""The offline steps of a film, each a row plus files: a scene's keyframes and narration, the
film's music bed (its assembly is ``films.assembling``). Files go through Django's storage;
work happens in a local work folder. Each step records the key of the inputs it was made
from (``films.keys``)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
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
#: Keyframe and film sizes in pixels, by aspect ratio.
FRAME_SIZES = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960)}

Progress = Callable[[str, float], None]


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


def _replace(scene_or_film: Scene | Film, **names: str) -> None:
    """Point the row's file fields at new files and delete the files they replace."""
    model = type(scene_or_film)
    old = [getattr(scene_or_film, field).name for field in names]
    model._default_manager.filter(pk=scene_or_film.pk).update(**names)
    for field, name in names.items():
        setattr(scene_or_film, field, name)
    for name in old:
        if name and name not in names.values():
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
    """The clip length, in seconds, a scene gets on ``backend``: its planned length where the
    backend can make it and the narration fits, else the shortest the narration needs; None
    when even that is longer than the backend makes."""
    needed = needed_seconds(scene, spoken_seconds=spoken_seconds)
    return backend.scene_duration(max(needed, scene.planned_seconds)) or backend.scene_duration(
        needed
    )


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
            image = images[(scene.keyframe_seed + offset) % len(images)]
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
    _replace(scene, **names)
    Scene.objects.filter(pk=scene.pk).update(keyframes_key=key)
    scene.keyframes_key = key


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
    _replace(scene, narration_audio=store(film, path.name, path))
    Scene.objects.filter(pk=scene.pk).update(
        narration_seconds=round(spoken.seconds, 3), cues=cues, narration_key=key
    )
    scene.narration_seconds, scene.cues, scene.narration_key = spoken.seconds, cues, key


def prepare_scene(scene: Scene, *, workdir: Path) -> bool:
    """Make whichever of the scene's keyframes and narration are stale; returns whether
    anything was made."""
    made = False
    if scene.keyframes_key != keys.keyframes_key(scene) or not scene.first_keyframe:
        make_keyframes(scene, workdir=workdir)
        made = True
    if scene.narration_key != keys.narration_key(scene) or not scene.narration_audio:
        make_narration(scene, workdir=workdir)
        made = True
    return made


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
    _replace(film, music=store(film, "music.wav", path))
    Film.objects.filter(pk=film.pk).update(music_key=key)
    film.music_key = key
    return path
