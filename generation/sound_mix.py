"""A film's sound: the narrations placed on one track, the music bed ducked under them, and
the mix brought to the loudness target (EBU R128) as AAC."""

from __future__ import annotations

import re
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .assembly import AssemblyError, run_ffmpeg
from .speech import SAMPLE_RATE

#: Loudness of the finished film: integrated, in LUFS, and the true-peak ceiling in dBTP
#: (EBU R128 / the streaming services' -16 LUFS for spoken content).
TARGET_LUFS, TARGET_TRUE_PEAK = -16.0, -1.5
#: The limiter's ceiling after normalising (sample peak, linear): AAC encoding overshoots
#: sample peaks by up to about 1 dB, so the ceiling sits below the true-peak target.
LIMIT_CEILING = 0.78
#: The music bed's level before ducking (linear gain). At 0.3 the stretches of music alone
#: measured about -32 LUFS against speech at -15: heard as silence between lines
#: (bench/film_sound.py measures both).
MUSIC_GAIN = 0.75


def narration_track(pieces: Sequence[tuple[Path, float]], *, seconds: float, out: Path) -> None:
    """Write one mono WAV of ``seconds`` with each narration (a WAV at ``SAMPLE_RATE``) placed
    at its offset in seconds, silence elsewhere. Holds 2 bytes per sample of the film."""
    track = np.zeros(round(seconds * SAMPLE_RATE), dtype="<i2")
    for path, offset in pieces:
        with wave.open(str(path), "rb") as source:
            samples = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
        start = round(offset * SAMPLE_RATE)
        room = max(0, min(len(samples), len(track) - start))
        track[start : start + room] = samples[:room]
    with wave.open(str(out), "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(2)
        target.setframerate(SAMPLE_RATE)
        target.writeframes(track.tobytes())


def _mix_graph(with_music: bool, seconds: float) -> str:
    # Speech is compressed and its peaks limited first, as a narration is for broadcast: it
    # evens out the engines' levels and leaves loudnorm room to apply one linear gain.
    voice = (
        "[0:a]aresample=48000,aformat=channel_layouts=stereo,"
        "acompressor=threshold=0.05:ratio=3:attack=5:release=120:makeup=2,"
        "alimiter=limit=0.35:level=false:attack=2:release=60"
    )
    if not with_music:
        return f"{voice}[mix]"
    # The narration keys a compressor on the music: the bed dips while someone speaks.
    return (
        f"{voice},asplit=2[voice][key];"
        f"[1:a]aresample=48000,aformat=channel_layouts=stereo,volume={MUSIC_GAIN},"
        f"atrim=end={seconds:.3f},afade=t=out:st={max(0.0, seconds - 2):.3f}:d=2[bed];"
        "[bed][key]sidechaincompress=threshold=0.015:ratio=10:attack=15:release=350[ducked];"
        "[voice][ducked]amix=inputs=2:normalize=0:duration=first[mix]"
    )


def mix_audio(*, narration: Path, music: Path | None, seconds: float, out: Path) -> None:
    """Mix ``narration`` with ``music`` ducked under it (or alone) and bring the mix to
    ``TARGET_LUFS`` integrated, peaks held under the true-peak target, as AAC at 48 kHz in
    ``out`` (.m4a). Two passes: ffmpeg's ``ebur128`` measures the mix's integrated loudness
    (ITU-R BS.1770), then one linear gain and a limiter apply it (``loudnorm``'s own linear
    mode measures the same but resamples to 192 kHz, four times slower here)."""
    inputs = ["-i", str(narration)]
    if music is not None:
        inputs += ["-stream_loop", "-1", "-i", str(music)]
    graph = _mix_graph(music is not None, seconds)
    log = run_ffmpeg(
        [
            *inputs,
            "-filter_complex",
            f"{graph};[mix]ebur128=framelog=quiet[out]",
            "-map",
            "[out]",
            "-t",
            f"{seconds:.3f}",
            "-f",
            "null",
            "-",
        ],  # fmt: skip
        step="measuring the loudness",
    )
    found = re.findall(r"I:\s+(-?[\d.]+|-inf) LUFS", log)
    if not found:
        raise AssemblyError("ffmpeg did not report the loudness of the mix.")
    # Silence has no loudness to correct.
    gain = 0.0 if found[-1] == "-inf" else TARGET_LUFS - float(found[-1])
    run_ffmpeg(
        [
            *inputs,
            "-filter_complex",
            f"{graph};[mix]volume={gain:.2f}dB,"
            f"alimiter=limit={LIMIT_CEILING}:level=false:attack=1:release=50[out]",
            "-map",
            "[out]",
            "-t",
            f"{seconds:.3f}",
            "-c:a",
            "aac",
            "-b:a",
            "160k",
            str(out),
        ],  # fmt: skip
        step="mixing the sound",
    )
