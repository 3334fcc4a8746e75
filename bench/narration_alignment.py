"""Benchmark: timing a narration's words by forced alignment (``generation.alignment``) with the
thread's pocketsphinx decoder kept from one narration to the next, side by side with a new
decoder for each (as before: loading one reads its model and dictionary).

Speaks five scene narrations with espeak-ng once, then aligns them in alternating rounds each
way and prints the median seconds per narration and the ratio. Run:
.venv/bin/python bench/narration_alignment.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamsite.settings")

import django  # noqa: E402

django.setup()

from generation import alignment  # noqa: E402
from generation.speech import synthesise  # noqa: E402
from generation.voices import find_voice  # noqa: E402

NARRATIONS = [
    "Nobody had seen the ship since the storm.",
    "The lighthouse blinked once, then went dark for good.",
    "She folded the map and looked at the harbor below.",
    "The cat was already at the water, waiting as cats do.",
    "By morning the tide had given back what it had taken.",
]


def spoken(folder: Path) -> list[tuple[list[str], np.ndarray, int]]:
    """Each narration's words, its audio (mono float) and its sample rate."""
    voice = find_voice("espeak-en-us")
    assert voice is not None, "espeak-ng is not installed (make audio)"
    result = []
    for number, text in enumerate(NARRATIONS):
        path = folder / f"n{number}.wav"
        synthesise(text, voice=voice, path=path, workdir=folder)
        with wave.open(str(path), "rb") as source:
            rate = source.getframerate()
            pcm = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
        words = [word.strip(".,") for word in text.split()]
        result.append((words, pcm.astype(np.float32) / 32768.0, rate))
    return result


def align_all(narrations, *, keep: bool) -> float:
    """Seconds per narration to align them all, keeping the decoder or not."""
    start = time.perf_counter()
    for words, audio, rate in narrations:
        if not keep:
            alignment._decoders.decoder = None
        alignment.align_words(words, audio, rate=rate)
    return (time.perf_counter() - start) / len(narrations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as folder:
        narrations = spoken(Path(folder))
    timings: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(rounds):
        for keep in (False, True):
            timings[keep].append(align_all(narrations, keep=keep))
    new, kept = statistics.median(timings[False]), statistics.median(timings[True])
    print(f"new decoder each narration: {new * 1000:.0f} ms a narration (median of {rounds})")
    print(f"decoder kept by the thread: {kept * 1000:.0f} ms a narration")
    print(f"ratio: {new / kept:.1f}× faster kept")


if __name__ == "__main__":
    main()
