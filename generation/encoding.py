"""One way to encode the video every backend makes and every piece of a film's assembly, so the
assembly's stream-copy join can rely on it: H.264 High, yuv420p, CRF ``CRF`` at the operator's
x264 preset (``ANIMATIC_X264_PRESET``), a fixed thread count (the same frames give the same
bytes on any machine), ``+faststart`` on every file a browser plays; and one rule for the two
stills each clip keeps, its poster (at ``POSTER_AT`` of its length, unless a backend knows a
better frame) and its last frame (what a chained film scene opens on), both JPEG.

ffmpeg is imageio-ffmpeg's binary. Frames reach it on standard input, never on its command line.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

#: x264's constant rate factor for every clip and piece (lower: larger and sharper).
CRF = 20
#: Where in a clip its poster frame is taken, as a fraction of its length.
POSTER_AT = 0.35
#: JPEG quality of a poster, and of a clip's last frame (which a chained scene is made from).
POSTER_QUALITY, LAST_FRAME_QUALITY = 88, 92
#: What a browser needs to play an MP4 while it downloads: the index first.
FASTSTART = ["-movflags", "+faststart"]


def ffmpeg_exe() -> str:
    """The ffmpeg binary imageio-ffmpeg ships (or the one it was told to use)."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def h264(*, fps: int) -> list[str]:
    """ffmpeg's output options for the one H.264 encoding at ``fps`` frames a second (no
    audio); the caller adds the file name and, for a file played as is, ``FASTSTART``."""
    from django.conf import settings

    return [
        "-c:v", "libx264", "-preset", settings.ANIMATIC_X264_PRESET, "-crf", str(CRF),
        "-pix_fmt", "yuv420p", "-profile:v", "high", "-r", str(fps), "-an",
        # A fixed thread count: the same frames give the same bytes on any machine.
        "-threads", "2",
    ]  # fmt: skip


def encode_frames(
    frames: Iterable[np.ndarray],
    *,
    width: int,
    height: int,
    fps: int,
    outputs: Sequence[str],
    on_frame: Callable[[], None] | None = None,
) -> None:
    """Feed ``frames`` (each height × width × 3, uint8 RGB) to one ffmpeg process writing
    ``outputs`` (its output options and files: ``h264`` and a path, or a filter graph to several
    files); ``on_frame()`` is called after each frame is written, and an exception it raises
    stops the encode. Raises ``OSError`` with ffmpeg's last words when it fails."""
    command = [
        ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error", "-f", "rawvideo",
        "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-", *outputs,
    ]  # fmt: skip
    encoder = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert encoder.stdin is not None
    try:
        for frame in frames:
            encoder.stdin.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
            if on_frame is not None:
                on_frame()
        encoder.stdin.close()
    except BrokenPipeError:
        # ffmpeg stopped reading: it failed, and its own words say why (below).
        with contextlib.suppress(BrokenPipeError):
            encoder.stdin.close()
    except BaseException:
        encoder.kill()
        encoder.wait()
        raise
    error = encoder.stderr.read().decode(errors="replace") if encoder.stderr else ""
    if encoder.wait() != 0:
        raise OSError(f"ffmpeg could not encode the video: {error.strip()[-300:]}")


def poster_index(count: int) -> int:
    """Which of ``count`` frames is a clip's poster: the one at ``POSTER_AT`` of its length."""
    return min(max(count - 1, 0), int(count * POSTER_AT))


def save_stills(
    *, poster: np.ndarray, last: np.ndarray, poster_path: Path, last_frame_path: Path
) -> None:
    """Write a clip's poster and its last frame (each height × width × 3, uint8 RGB) as JPEG
    at ``POSTER_QUALITY`` and ``LAST_FRAME_QUALITY``."""
    Image.fromarray(poster).convert("RGB").save(poster_path, "JPEG", quality=POSTER_QUALITY)
    Image.fromarray(last).convert("RGB").save(last_frame_path, "JPEG", quality=LAST_FRAME_QUALITY)
