"""Reading finished clips: their length, a poster frame and the last frame (moviepy over
imageio's ffmpeg). Imported only by workers."""

from __future__ import annotations

from pathlib import Path

from moviepy import VideoFileClip

from .encoding import POSTER_AT, save_stills
from .video import RenderError


def read_clip(
    video_path: Path, *, poster_path: Path, last_frame_path: Path, stage: str = "saving"
) -> float:
    """Check that ``video_path`` is a readable video, write its poster frame to
    ``poster_path`` and its last frame to ``last_frame_path`` (both JPEG, 8-bit RGB, the
    video's own size) and return its duration in seconds.

    A scene chained after this clip opens on the last frame, so it is the final decoded frame
    (at ``duration - 1/fps``), not a guess from the header. Raises ``RenderError`` in
    ``stage`` when the file is not a video ffmpeg can decode.
    """
    try:
        with VideoFileClip(str(video_path), audio=False) as clip:
            duration = float(clip.duration or 0.0)
            if duration <= 0:
                raise RenderError(stage, "The provider's video is empty.")
            poster = clip.get_frame(min(duration * POSTER_AT, max(duration - 0.05, 0.0)))
            last = clip.get_frame(max(duration - 1.0 / (clip.fps or 24), 0.0))
    except (OSError, KeyError, IndexError) as error:
        raise RenderError(stage, f"The provider's video could not be read ({error}).") from error
    save_stills(poster=poster, last=last, poster_path=poster_path, last_frame_path=last_frame_path)
    return duration
