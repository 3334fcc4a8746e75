"""Step: the film's music bed, a MIDI score in the film's mood rendered with FluidSynth, as long
as the film. Fresh while ``music_key`` holds (its mood, length to the second and seed)."""

from __future__ import annotations

from pathlib import Path

from generation.beats import GENRES
from generation.music import MOODS, MusicError, music_available, render_music, write_midi

from .errors import StepError
from .files import fetch, save_result, store
from .keys import input_key
from .models import Film


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


def music_key(film: Film, seconds: float) -> str:
    """Inputs of the music bed: the mood, the film's length (to the second), its seed."""
    return input_key("music-1", film.music_mood, film.genre, round(seconds), film.seed)


def make_music(film: Film, *, seconds: float, workdir: Path) -> Path | None:
    """The film's music bed as a local WAV of at least ``seconds`` (made and stored when its
    key changed), or None for a film without music or a machine without FluidSynth. Raises
    ``StepError`` when FluidSynth fails."""
    mood = mood_of(film)
    if mood is None or not music_available():
        return None
    key = music_key(film, seconds)
    path = workdir / "music.wav"
    if film.music_key == key and film.music:
        return fetch(film.music, path)
    midi = workdir / "music.mid"
    try:
        write_midi(mood=mood, seconds=seconds, path=midi, seed=film.seed)
        render_music(midi_path=midi, path=path)
    except MusicError as error:
        raise StepError("music", error.message) from error
    save_result(
        film, files={"music": store(film, "music.wav", path)}, key_field="music_key", key=key
    )
    return path
