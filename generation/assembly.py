"""Assembling a film with ffmpeg: each scene's body encoded once, transitions encoded only at
the seams, the pieces joined by the concat demuxer with stream copy, then the narration (with
its music bed ducked under it, loudness-normalised), the subtitles (``mov_text``) and one
chapter per scene muxed in. H.264 yuv420p, AAC, ``+faststart``. Burnt-in subtitles are drawn
into each piece as it is encoded, so they cost no pass over the whole film at the end.

A film of scenes with lengths L (frames) joined by transitions of T frames lasts
``sum(L) - T * (seams that are not cuts)``. Every piece is encoded with the same settings, so
the concat demuxer can copy them; memory stays flat however long the film is, because no
process holds more than one scene's pictures.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .encoding import ffmpeg_exe, h264
from .subtitles import for_burning

FPS = 24
#: Length of a crossfade or a dip to black, in seconds.
TRANSITION_SECONDS = 0.5
TRANSITION_FRAMES = round(TRANSITION_SECONDS * FPS)
TRANSITIONS = {"crossfade": "Crossfade", "dip": "Dip to black", "cut": "Cut"}


def video_encode() -> list[str]:
    """Encoder settings shared by every piece, so the pieces join without re-encoding: the one
    H.264 encoding (``encoding.h264``) at ``FPS``, on one track timescale."""
    return [*h264(fps=FPS), "-video_track_timescale", "12288"]


class AssemblyError(RuntimeError):
    """ffmpeg failed; ``message`` says at which step."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def run_ffmpeg(args: Sequence[str], *, step: str) -> str:
    """Run ffmpeg with ``args``; returns its log (stderr). Raises ``AssemblyError`` naming
    ``step`` with the last line ffmpeg printed."""
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no message"]
        raise AssemblyError(f"ffmpeg failed while {step}: {tail[0]}")
    return done.stderr


@dataclass(frozen=True)
class Seam:
    """What joins a scene to the next: ``transition`` (a key of ``TRANSITIONS``)."""

    transition: str

    @property
    def frames(self) -> int:
        """Frames the two scenes overlap: none for a cut."""
        return 0 if self.transition == "cut" else TRANSITION_FRAMES


def scene_frames(seconds: float) -> int:
    """A clip's length in whole frames at ``FPS``."""
    return round(seconds * FPS)


def scene_starts(frames: Sequence[int], seams: Sequence[Seam]) -> list[int]:
    """The frame at which each scene starts in the film (scene i of ``frames[i]`` frames,
    joined to scene i+1 by ``seams[i]``), and the film's length as the last entry."""
    starts = [0]
    for index, length in enumerate(frames):
        overlap = seams[index].frames if index < len(seams) else 0
        starts.append(starts[-1] + length - overlap)
    return starts


def _normalise(width: int, height: int) -> str:
    return (
        f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={FPS}"
    )


def _seek(frame: int) -> list[str]:
    # The frame's time rounded down to the microsecond: an accurate seek keeps every frame at
    # or after it, and a seek exactly onto a keyframe (the animatic's scenes have one where
    # each transition starts) decodes from there rather than from the keyframe before.
    return ["-ss", f"{math.floor(frame * 1_000_000 / FPS) / 1_000_000:.6f}"] if frame > 0 else []


def _read_only(frames: int) -> list[str]:
    # An input option: ffmpeg stops reading the clip after these frames (and one spare)
    # instead of decoding it to the end for a trim filter to drop.
    return ["-t", f"{(frames + 1) / FPS:.6f}"]


def _burn_filter(subtitles: Path, *, width: int, height: int) -> str:
    """The ffmpeg filter that draws the cues of ``subtitles`` (SubRip, written by
    ``_write_burnt``) into a ``width``×``height`` picture: libass takes each script's letters
    from the Noto fonts that fontconfig finds, sized to the picture's height."""
    size = max(14, round(height / 32))
    style = f"FontName=Noto Sans,FontSize={size},Outline=2,MarginV={round(height / 12)}"
    return f"subtitles={subtitles}:original_size={width}x{height}:force_style='{style}'"


def _write_burnt(srt: str, out: Path) -> Path:
    """Write ``srt`` (SubRip text) beside ``out`` ready for ``_burn_filter`` (right-to-left
    lines marked, ``subtitles.for_burning``); returns the file's path. The user's words go in
    this file, never into the filter string."""
    path = out.with_name(f"{out.stem}-burnt.srt")
    path.write_text(for_burning(srt), encoding="utf-8")
    return path


def subtitles_filter(srt: str, out: Path, *, width: int, height: int) -> str:
    """The filters, each after a comma, that draw ``srt`` (SubRip) into a ``width``×``height``
    picture encoded to ``out`` (its lines written to a file beside it); "" without lines."""
    return f",{_burn_filter(_write_burnt(srt, out), width=width, height=height)}" if srt else ""


def encode_body(
    *, clip: Path, first: int, end: int, out: Path, width: int, height: int, subtitles: str = ""
) -> None:
    """Encode frames ``first`` up to (not including) ``end`` of ``clip`` to ``out`` (MP4),
    ``width``×``height`` at ``FPS``, letterboxed when the clip's shape differs, with
    ``subtitles`` (SubRip on the piece's own clock, from 0) drawn in when given."""
    burn = subtitles_filter(subtitles, out, width=width, height=height)
    run_ffmpeg(
        [
            *_seek(first),
            *_read_only(end - first),
            "-i",
            str(clip),
            "-vf",
            f"{_normalise(width, height)},trim=end_frame={end - first},setpts=PTS-STARTPTS{burn}",
            *video_encode(),
            str(out),
        ],  # fmt: skip
        step="encoding a scene",
    )


def copy_body(*, clip: Path, first: int, end: int, out: Path) -> None:
    """Copy frames ``first`` up to ``end`` of ``clip`` to ``out`` without encoding: for a clip
    encoded with ``video_encode()`` and IDR frames at ``first`` and ``end`` (the animatic's
    film scenes), whose pieces then join the others by stream copy."""
    seek = ["-ss", f"{first / FPS:.6f}"] if first > 0 else []
    run_ffmpeg(
        [
            *seek,
            "-i",
            str(clip),
            "-map",
            "0:v",
            "-c",
            "copy",
            "-frames:v",
            str(end - first),
            "-avoid_negative_ts",
            "make_zero",
            str(out),
        ],  # fmt: skip
        step="copying a scene",
    )


@dataclass(frozen=True)
class SeamJob:
    """One transition to encode: from the last ``seam.frames`` frames of ``outgoing`` (a clip
    of ``outgoing_frames`` frames) into the first ``seam.frames`` of ``incoming``, to ``out``,
    with ``subtitles`` (SubRip on the transition's clock) drawn in when given."""

    outgoing: Path
    outgoing_frames: int
    incoming: Path
    seam: Seam
    out: Path
    subtitles: str = ""


@dataclass(frozen=True)
class BodyJob:
    """One scene's body: frames ``first`` up to ``end`` of ``clip`` to ``out``, copied when
    ``copy`` (a clip encoded for the assembly) or else encoded, with ``subtitles`` (SubRip on
    the body's clock) drawn in when given (which needs encoding: not with ``copy``)."""

    clip: Path
    first: int
    end: int
    out: Path
    copy: bool
    subtitles: str = ""


def encode_pieces(
    bodies: Sequence[BodyJob], seams: Sequence[SeamJob], *, width: int, height: int
) -> None:
    """Make every body and transition in ``bodies`` and ``seams``: the bodies one after the
    other, the transitions meanwhile in a second thread, so both cores work (once the last
    clip is in, its body and its seam are encoded side by side). At most two ffmpeg processes
    run: one body's encoder and one batch of transitions (``SEAMS_PER_PROCESS``)."""

    def make_bodies() -> None:
        for body in bodies:
            if body.copy:
                copy_body(clip=body.clip, first=body.first, end=body.end, out=body.out)
            else:
                encode_body(
                    clip=body.clip, first=body.first, end=body.end, out=body.out,
                    width=width, height=height, subtitles=body.subtitles,
                )  # fmt: skip

    with ThreadPoolExecutor(max_workers=1) as pool:
        transitions = pool.submit(encode_seams, seams, width=width, height=height)
        # Should a body fail, leaving the block still waits for the transitions' process.
        make_bodies()
        transitions.result()


#: Transitions encoded by one ffmpeg process: each holds an x264 encoder (about 120 MB at
#: 720p), so a small batch keeps memory flat (bench/film_assembly.py: 288 MB with 2, 1 GB with 8).
SEAMS_PER_PROCESS = 2


def encode_seams(jobs: Sequence[SeamJob], *, width: int, height: int) -> None:
    """Encode every transition in ``jobs``, ``SEAMS_PER_PROCESS`` to an ffmpeg process (one
    process start and one encoder set-up for several short pieces)."""
    for start in range(0, len(jobs), SEAMS_PER_PROCESS):
        batch = jobs[start : start + SEAMS_PER_PROCESS]
        inputs: list[str] = []
        graphs: list[str] = []
        outputs: list[str] = []
        norm = _normalise(width, height)
        for index, job in enumerate(batch):
            frames = job.seam.frames
            effect = "fadeblack" if job.seam.transition == "dip" else "fade"
            inputs += [*_seek(job.outgoing_frames - frames), *_read_only(frames)]
            inputs += ["-i", str(job.outgoing), *_read_only(frames), "-i", str(job.incoming)]
            a, b = 2 * index, 2 * index + 1
            graphs.append(
                f"[{a}:v]{norm},trim=end_frame={frames},setpts=PTS-STARTPTS[a{index}];"
                f"[{b}:v]{norm},trim=end_frame={frames},setpts=PTS-STARTPTS[b{index}];"
                f"[a{index}][b{index}]xfade=transition={effect}:"
                f"duration={frames / FPS:.6f}:offset=0,trim=end_frame={frames}"
                f"{subtitles_filter(job.subtitles, job.out, width=width, height=height)}[v{index}]"
            )
            outputs += ["-map", f"[v{index}]", *video_encode(), str(job.out)]
        run_ffmpeg(
            [*inputs, "-filter_complex", ";".join(graphs), *outputs],
            step="encoding the transitions",
        )


def chapters_metadata(titles: Sequence[str], starts_seconds: Sequence[float]) -> str:
    """An ffmetadata document with one chapter per title; ``starts_seconds`` has one more
    entry than ``titles``: the film's end."""
    lines = [";FFMETADATA1"]
    for index, title in enumerate(titles):
        escaped = re.sub(r"([=;#\\\n])", r"\\\1", title)
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={round(starts_seconds[index] * 1000)}",
            f"END={round(starts_seconds[index + 1] * 1000)}",
            f"title={escaped}",
        ]
    return "\n".join(lines) + "\n"


def join_and_mux(
    *, pieces: Sequence[Path], audio: Path, subtitles_srt: Path, chapters: Path, out: Path,
    workdir: Path, language: str = "eng",
) -> None:  # fmt: skip
    """Join ``pieces`` (MP4s from ``encode_body``, ``copy_body`` and ``encode_seams``, with any
    burnt-in subtitles already drawn into them) by stream copy, add ``audio``, the subtitles as
    a ``mov_text`` track in ``language`` (ISO 639-2), and the chapters; ``moov`` first
    (``+faststart``)."""
    listing = workdir / "pieces.txt"
    listing.write_text("".join(f"file '{piece.resolve()}'\n" for piece in pieces))
    run_ffmpeg(
        [
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(listing),
            "-i",
            str(audio),
            "-i",
            str(subtitles_srt),
            "-f",
            "ffmetadata",
            "-i",
            str(chapters),
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-map",
            "2:s",
            "-map_chapters",
            "3",
            "-c:v",
            "copy",
            "-c:a",
            "copy",
            "-c:s",
            "mov_text",
            "-metadata:s:s:0",
            f"language={language}",
            # Left to itself, the muxer timed the QuickTime chapter track at 192,000,000 a
            # second here (video at 12288, sound at 48000, a subtitle track): a chapter over
            # about 11 s overflowed its 32-bit duration and the whole track was dropped
            # ("Application provided duration … is invalid"), leaving Nero's list alone.
            # Milliseconds (what the chapters are written in) fit 24 days.
            "-movie_timescale",
            "1000",
            "-movflags",
            "+faststart",
            str(out),
        ],  # fmt: skip
        step="joining the scenes",
    )
