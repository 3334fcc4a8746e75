"""Offline narration: Piper (neural) with voices installed from the package registry, and
espeak-ng from Debian as the fallback. Both are GPL programs, so they run as separate
processes (``subprocess``), never imported.

Subtitle timing comes from how the narration is spoken: the text is cut into cues (a clause
of at most ``CUE_MAX_CHARS``), each cue is synthesised as its own utterance, its silence
trimmed, and the pieces joined with a short pause (a longer one after a sentence). A cue's
start is therefore where its first word is heard, to the sample; the words inside a cue are
timed by forced alignment (``generation.alignment``), or in proportion to their letters where a
word cannot be aligned.
"""

from __future__ import annotations

import re
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .alignment import align_words
from .voices import Voice, piper_program

#: Output sample rate of every narration, in Hz (Piper's medium voices speak at 22,050 Hz).
SAMPLE_RATE = 22_050
#: Longest cue, in characters (two subtitle lines of 42, the BBC's subtitle guideline).
CUE_MAX_CHARS = 84
#: Pauses in seconds: between clauses, after a sentence.
CLAUSE_PAUSE, SENTENCE_PAUSE = 0.15, 0.4
#: Samples quieter than this (full scale 1.0) count as silence when trimming.
SILENCE_LEVEL = 0.01
#: Longest a program may take to speak one scene, in seconds.
SPEECH_TIMEOUT = 120


class SpeechError(RuntimeError):
    """The speech engine failed; ``message`` says why, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Cue:
    """One subtitle cue: ``text`` heard from ``start`` to ``end`` seconds, with its ``words``
    as (word, start, end) in seconds."""

    text: str
    start: float
    end: float
    words: tuple[tuple[str, float, float], ...]


@dataclass(frozen=True)
class Narration:
    """A spoken narration: a mono 16-bit WAV at ``SAMPLE_RATE`` of ``seconds``, its cues."""

    path: Path
    seconds: float
    cues: tuple[Cue, ...]


def split_cues(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into cues of at most ``CUE_MAX_CHARS`` at sentence ends, then clause
    marks, then spaces: (cue, ends a sentence) pairs."""
    cues: list[tuple[str, bool]] = []
    for sentence in re.split(r"(?<=[.!?…])\s+|(?<=[。！？])\s*", " ".join(text.split())):
        if not sentence:
            continue
        pieces = [p for p in re.split(r"(?<=[,;:—])\s+|(?<=[、，；：])\s*", sentence) if p]
        current = ""
        parts: list[str] = []
        for piece in pieces:
            for word in _words(piece):
                candidate = _join(current, word)
                if len(candidate) > CUE_MAX_CHARS and current:
                    parts.append(current)
                    current = word
                else:
                    current = candidate
            if current and len(current) > CUE_MAX_CHARS // 2:
                parts.append(current)
                current = ""
        if current:
            parts.append(current)
        cues.extend((part, index == len(parts) - 1) for index, part in enumerate(parts))
    return cues


def _words(text: str) -> list[str]:
    """The words of ``text``: split at spaces, and a run of more than ``CUE_MAX_CHARS``
    letters without one (Chinese, Japanese) cut into pieces that fit a cue."""
    words = []
    for word in text.split(" "):
        words += [word[i : i + CUE_MAX_CHARS] for i in range(0, len(word), CUE_MAX_CHARS)]
    return words


#: Chinese, Japanese and Korean letters and marks: written without spaces between words.
_CJK = re.compile(r"[\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]")


def _join(text: str, word: str) -> str:
    """``word`` after ``text``, with a space unless both sides are Chinese or Japanese."""
    if not text:
        return word
    if _CJK.match(text[-1]) and _CJK.match(word[:1]):
        return text + word
    return f"{text} {word}"


def _read_wav(path: Path) -> np.ndarray:
    """Mono float samples in [-1, 1] at ``SAMPLE_RATE`` from a 16-bit PCM WAV."""
    with wave.open(str(path), "rb") as source:
        rate, channels = source.getframerate(), source.getnchannels()
        samples = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
    audio: np.ndarray = samples.astype(np.float32).reshape(-1, channels).mean(axis=1) / 32768.0
    if rate != SAMPLE_RATE and len(audio):
        positions = np.linspace(0, len(audio) - 1, round(len(audio) * SAMPLE_RATE / rate))
        audio = np.interp(positions, np.arange(len(audio)), audio).astype(np.float32)
    return audio


def _trim(audio: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > SILENCE_LEVEL)
    if not len(loud):
        return audio[:0]
    trimmed: np.ndarray = audio[max(0, loud[0] - 64) : loud[-1] + 64]
    return trimmed


def _speak(voice: Voice, cues: list[str], folder: Path) -> list[Path]:
    """One WAV per cue, in order, by one run of the voice's program."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if voice.engine == "piper":
            program = piper_program()
            if program is None:
                raise SpeechError("The Piper program is not installed.")
            done = subprocess.run(
                [program, "-m", voice.model, "-d", str(folder)],
                input="\n".join(cues) + "\n",
                capture_output=True,
                text=True,
                timeout=SPEECH_TIMEOUT,
                check=True,
            )
            written = re.findall(r"Wrote (.+\.wav)", done.stderr)
            paths = [Path(name) if Path(name).is_absolute() else Path(name) for name in written]
            if len(paths) != len(cues):
                raise SpeechError(f"Piper spoke {len(paths)} of {len(cues)} lines.")
            return paths
        paths = []
        for index, cue in enumerate(cues):
            path = folder / f"cue-{index}.wav"
            # The words go on standard input: as an argument, a cue such as "-f/etc/passwd"
            # would be read as an option.
            subprocess.run(
                ["espeak-ng", "-v", voice.model, "-s", "160", "-w", str(path), "--stdin"],
                input=cue,
                capture_output=True,
                text=True,
                timeout=SPEECH_TIMEOUT,
                check=True,
            )
            if not path.exists():
                raise SpeechError(f"espeak-ng wrote no audio for “{cue[:40]}”.")
            paths.append(path)
        return paths
    except subprocess.CalledProcessError as error:
        detail = (error.stderr or "").strip().splitlines()[-1:] if error.stderr else []
        raise SpeechError(f"The speech engine failed: {' '.join(map(str, detail))}") from error
    except subprocess.TimeoutExpired as error:
        raise SpeechError("The speech engine took too long.") from error
    except FileNotFoundError as error:
        raise SpeechError(f"The speech engine is not installed: {error.filename}") from error


def _word_times(
    text: str, start: float, end: float, audio: np.ndarray, *, english: bool
) -> tuple[tuple[str, float, float], ...]:
    """Each word of ``text`` spoken in ``audio`` (from ``start`` to ``end`` seconds): aligned
    by pocketsphinx where it can (``english`` speech only: its model is US English), else in
    proportion to the words' letters."""
    words = text.split()
    aligned = align_words(words, audio, rate=SAMPLE_RATE) if english else None
    if aligned is not None:
        return tuple(
            (word, round(start + a, 3), round(min(start + b, end), 3))
            for word, (a, b) in zip(words, aligned, strict=True)
        )
    weights = np.array([len(word) + 1 for word in words], dtype=np.float64)
    edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    return tuple(
        (word, round(float(edges[i]), 3), round(float(edges[i + 1]), 3))
        for i, word in enumerate(words)
    )


def synthesise(text: str, *, voice: Voice, path: Path, workdir: Path) -> Narration:
    """Speak ``text`` with ``voice`` into ``path`` (mono 16-bit WAV at ``SAMPLE_RATE``).

    Returns its length in seconds and its cues, timed from the audio itself. Raises
    ``SpeechError`` when the text has nothing to say or the engine fails.
    """
    pieces = split_cues(text)
    if not pieces:
        raise SpeechError("There is no narration to speak.")
    wavs = _speak(voice, [cue for cue, _ in pieces], workdir / f"speech-{path.stem}")
    chunks: list[np.ndarray] = []
    cues: list[Cue] = []
    position = 0
    for (cue_text, sentence_end), wav in zip(pieces, wavs, strict=True):
        audio = _trim(_read_wav(wav))
        start, end = position / SAMPLE_RATE, (position + len(audio)) / SAMPLE_RATE
        if len(audio):
            cues.append(
                Cue(
                    cue_text,
                    round(start, 3),
                    round(end, 3),
                    _word_times(cue_text, start, end, audio, english=voice.language == "eng"),
                )
            )
        pause = np.zeros(
            round((SENTENCE_PAUSE if sentence_end else CLAUSE_PAUSE) * SAMPLE_RATE),
            dtype=np.float32,
        )
        chunks.extend([audio, pause])
        position += len(audio) + len(pause)
    if not cues:
        raise SpeechError("The speech engine produced only silence.")
    audio = np.concatenate(chunks[:-1])  # no pause after the last words
    with wave.open(str(path), "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(2)
        target.setframerate(SAMPLE_RATE)
        target.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return Narration(path=path, seconds=len(audio) / SAMPLE_RATE, cues=tuple(cues))
