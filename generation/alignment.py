"""Word timings by forced alignment: pocketsphinx (BSD-2-Clause) aligns known words to the
audio that speaks them, with the US English acoustic model and dictionary its wheel ships
(nothing is downloaded). Piper's program gives no word timings of its own."""

from __future__ import annotations

import re
import threading
from typing import Any

import numpy as np

#: pocketsphinx's models run at 16 kHz; its frames are 10 ms.
ALIGN_RATE, FRAME_SECONDS = 16_000, 0.01

# A decoder takes 0.4 s to load its model and dictionary, longer than aligning a scene's
# narration; one per thread is kept (a decoder is not safe to share between threads).
_decoders = threading.local()


def _decoder() -> Any:
    from pocketsphinx import Decoder

    decoder = getattr(_decoders, "decoder", None)
    if decoder is None:
        decoder = _decoders.decoder = Decoder(samprate=ALIGN_RATE, bestpath=False, loglevel="FATAL")
    return decoder


def align_words(
    words: list[str], audio: np.ndarray, *, rate: int
) -> list[tuple[float, float]] | None:
    """The (start, end) in seconds of each of ``words`` in ``audio`` (mono float samples in
    [-1, 1] at ``rate`` Hz), by forced alignment; None when they cannot be aligned (a word the
    dictionary lacks, no speech found, or pocketsphinx not installed)."""
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return None
    spoken = [re.sub(r"[^a-z']", "", word.lower()) for word in words]
    if not spoken or not all(spoken) or not len(audio):
        return None
    positions = np.linspace(0, len(audio) - 1, max(1, round(len(audio) * ALIGN_RATE / rate)))
    samples = np.interp(positions, np.arange(len(audio)), audio)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    try:
        decoder = _decoder()
        decoder.set_align_text(" ".join(spoken))
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        found = decoder.seg()  # None when no alignment was found
        segments = [
            (s.start_frame * FRAME_SECONDS, (s.end_frame + 1) * FRAME_SECONDS)
            for s in found or ()
            if not s.word.startswith(("<", "["))
        ]
    except (RuntimeError, ValueError, KeyError, TypeError):
        _decoders.decoder = None  # a decoder that failed mid-utterance is not used again
        return None
    return segments if len(segments) == len(words) else None
