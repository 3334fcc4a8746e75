"""Step: a scene's narration, spoken offline with the film's voice, with its cues (words and
their times). The narration paces the scene: its clip lasts as long as the words need.
Fresh while ``narration_key`` holds."""

from __future__ import annotations

from pathlib import Path

from generation.assembly import TRANSITION_SECONDS
from generation.speech import SpeechError, synthesise
from generation.video import ClipBackend
from generation.voices import find_voice

from .errors import StepError
from .files import save_result, store
from .keys import input_key
from .models import Scene

#: Seconds of picture before the narrator speaks, and after the narration ends.
NARRATION_LEAD, BREATH = 0.3, 0.7
#: Most seconds a scene runs on past what its narration needs, however long it was planned:
#: a viewer hears music alone as an empty film (one where narration covered 14 s of 52 felt
#: like "a narrated slideshow").
MAX_QUIET_SECONDS = 3.0
#: Words a narrator speaks per second, to estimate a scene not yet spoken (about 150 a minute).
WORDS_PER_SECOND = 2.5


def narration_key(scene: Scene) -> str:
    """Inputs of a scene's narration: its words and the film's voice."""
    return input_key("narration-1", " ".join(scene.narration.split()), scene.film.voice)


def narration_fresh(scene: Scene) -> bool:
    """Whether the scene's narration is spoken from its current words and voice."""
    return bool(scene.narration_audio) and scene.narration_key == narration_key(scene)


def make_narration(scene: Scene, *, workdir: Path) -> None:
    """Speak the scene's narration with the film's voice and store it (WAV) with its cues and
    length in seconds. Raises ``StepError`` when the voice is not installed or the engine
    fails, ``FilmGone`` when the scene was deleted meanwhile."""
    film = scene.film
    key = narration_key(scene)
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
    save_result(
        scene,
        files={"narration_audio": store(film, path.name, path)},
        key_field="narration_key",
        key=key,
        narration_seconds=round(spoken.seconds, 3),
        cues=cues,
    )


def spoken_seconds(scene: Scene) -> float:
    """How long the scene's narration is spoken, in seconds: measured once it is spoken from
    its current words, estimated at ``WORDS_PER_SECOND`` before."""
    if scene.narration_seconds is not None and scene.narration_key == narration_key(scene):
        return scene.narration_seconds
    return len(scene.narration.split()) / WORDS_PER_SECOND


def needed_seconds(scene: Scene, *, spoken: float | None = None) -> float:
    """How long a scene must last, in seconds (audio first, so no clip freezes on its last
    frame): its narration (``spoken`` seconds, default the spoken narration's length) with a
    lead-in and a breath, plus the transition the next scene overlaps it by."""
    spoken = scene.narration_seconds if spoken is None else spoken
    overlap = 0.0 if scene.transition == "cut" else TRANSITION_SECONDS
    return round(NARRATION_LEAD + (spoken or 0.0) + BREATH + overlap, 2)


def scene_length(
    scene: Scene, backend: ClipBackend, *, spoken: float | None = None
) -> float | None:
    """The clip length, in seconds, a scene gets on ``backend``: paced by its narration, as long
    as the words need (``needed_seconds``), and up to ``MAX_QUIET_SECONDS`` more where the plan
    was longer, so no scene is a long stretch of music alone; within the backend's lengths.
    None when even the narration is longer than the backend makes."""
    needed = needed_seconds(scene, spoken=spoken)
    paced = max(needed, min(scene.planned_seconds, needed + MAX_QUIET_SECONDS))
    return backend.scene_duration(paced) or backend.scene_duration(needed)
