"""An offline music bed: a mood's tempo, key, chord progression and instruments written as
MIDI (``mido``) and rendered by FluidSynth (a separate program) with Debian's General MIDI
sound font (``fluid-soundfont-gm``, MIT), as long as the film."""

from __future__ import annotations

import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import mido

#: Where Debian's ``fluid-soundfont-gm`` installs its sound font.
DEFAULT_SOUND_FONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
#: Sample rate of the rendered bed, in Hz.
MUSIC_SAMPLE_RATE = 44_100
TICKS_PER_BEAT = 480


class MusicError(RuntimeError):
    """The bed could not be made; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Mood:
    """A mood: ``tempo`` in beats per minute, ``key`` as a MIDI note (the tonic), whether it
    is ``minor``, its ``progression`` (scale degrees, 1-7, one chord per bar) and its General
    MIDI programs for the ``pad``, the ``bass`` and the ``melody`` (0-based)."""

    label: str
    tempo: int
    key: int
    minor: bool
    progression: tuple[int, ...]
    pad: int
    bass: int
    melody: int


MOODS: dict[str, Mood] = {
    "heroic": Mood("Heroic", 104, 50, False, (1, 5, 6, 4), 48, 33, 60),
    "playful": Mood("Playful", 118, 60, False, (1, 4, 5, 1), 0, 32, 72),
    "tender": Mood("Tender", 72, 53, False, (1, 6, 4, 5), 89, 32, 0),
    "suspense": Mood("Suspense", 84, 57, True, (1, 6, 7, 5), 49, 43, 11),
    "wonder": Mood("Wonder", 90, 52, False, (1, 4, 6, 5), 91, 38, 98),
    "magical": Mood("Magical", 96, 55, False, (1, 6, 2, 5), 46, 32, 10),
    "calm": Mood("Calm", 80, 48, False, (1, 4, 1, 5), 88, 32, 46),
    "melancholy": Mood("Melancholy", 66, 45, True, (1, 4, 6, 5), 89, 32, 42),
}

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)


def sound_font() -> Path | None:
    """The General MIDI sound font (``FILM_SOUND_FONT``, Debian's by default), or None when it
    is not installed."""
    from django.conf import settings

    path = Path(getattr(settings, "FILM_SOUND_FONT", "") or DEFAULT_SOUND_FONT)
    return path if path.exists() else None


def music_available() -> bool:
    """Whether a bed can be rendered here: FluidSynth and the sound font are installed."""
    return shutil.which("fluidsynth") is not None and sound_font() is not None


def _chord(mood: Mood, degree: int) -> list[int]:
    scale = _MINOR if mood.minor else _MAJOR
    notes = []
    for step in (0, 2, 4):
        index = degree - 1 + step
        notes.append(mood.key + scale[index % 7] + 12 * (index // 7))
    return notes


def write_midi(*, mood: str, seconds: float, path: Path, seed: int) -> None:
    """Write a bed of at least ``seconds`` in ``mood`` (a key of ``MOODS``) as a standard MIDI
    file: pad chords, a bass line and a sparse seeded melody, fading out over its last bar.
    Raises ``KeyError`` for an unknown mood."""
    spec = MOODS[mood]
    rng = random.Random(f"music-{seed}")
    beat_seconds = 60.0 / spec.tempo
    bars = max(1, int(seconds / (4 * beat_seconds)) + 2)
    song = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    tracks = {name: mido.MidiTrack() for name in ("pad", "bass", "melody")}
    for channel, (name, track) in enumerate(tracks.items()):
        song.tracks.append(track)
        if channel == 0:
            track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(spec.tempo)))
        program = {"pad": spec.pad, "bass": spec.bass, "melody": spec.melody}[name]
        track.append(mido.Message("program_change", channel=channel, program=program, time=0))
    bar_ticks = 4 * TICKS_PER_BEAT
    for bar in range(bars):
        chord = _chord(spec, spec.progression[bar % len(spec.progression)])
        fade = 1.0 if bar < bars - 1 else 0.5
        pad = tracks["pad"]
        for note in chord:
            pad.append(
                mido.Message("note_on", channel=0, note=note, velocity=int(52 * fade), time=0)
            )
        for index, note in enumerate(chord):
            pad.append(
                mido.Message("note_off", channel=0, note=note, time=bar_ticks if index == 0 else 0)
            )
        bass = tracks["bass"]
        for _half in range(2):
            root = chord[0] - 24
            bass.append(
                mido.Message("note_on", channel=1, note=root, velocity=int(64 * fade), time=0)
            )
            bass.append(mido.Message("note_off", channel=1, note=root, time=bar_ticks // 2))
        melody = tracks["melody"]
        for _beat in range(4):
            if rng.random() < 0.55:
                note = rng.choice(chord) + 12
                melody.append(
                    mido.Message("note_on", channel=2, note=note, velocity=int(44 * fade), time=0)
                )
                melody.append(mido.Message("note_off", channel=2, note=note, time=TICKS_PER_BEAT))
            else:
                melody.append(mido.Message("note_off", channel=2, note=0, time=TICKS_PER_BEAT))
    song.save(str(path))


def render_music(*, midi_path: Path, path: Path, timeout: float = 300.0) -> None:
    """Render ``midi_path`` to a 44.1 kHz stereo WAV at ``path`` with FluidSynth. Raises
    ``MusicError`` when FluidSynth or the sound font is missing or fails."""
    font = sound_font()
    program = shutil.which("fluidsynth")
    if font is None or program is None:
        raise MusicError("FluidSynth or its General MIDI sound font is not installed.")
    try:
        subprocess.run(
            [
                program,
                "-ni",
                "-q",
                "-g",
                "0.6",
                "-r",
                str(MUSIC_SAMPLE_RATE),
                "-F",
                str(path),
                str(font),
                str(midi_path),
            ],
            capture_output=True,
            timeout=timeout,
            check=True,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        raise MusicError(f"FluidSynth could not render the music: {error}") from error
    if not path.exists() or path.stat().st_size < 1000:
        raise MusicError("FluidSynth rendered no music.")
