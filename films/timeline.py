"""A film's timeline: where each scene falls once its clip's length is known, the transitions
(seams) that overlap neighbours, and the lines the viewer reads, on the film's clock. The
assembly's pieces are cut along it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from generation import assembly
from generation.speech import Cue
from generation.subtitles import readable, shifted, to_srt, within

from .models import Film, Scene
from .narration import NARRATION_LEAD


@dataclass(frozen=True)
class Layout:
    """Where a film's scenes fall: each scene's length in ``frames`` (at ``assembly.FPS``),
    the ``seams`` between them, each scene's first frame in ``starts`` (plus the film's
    length as the last entry), and the picture's ``width`` × ``height`` in pixels."""

    frames: list[int]
    seams: list[assembly.Seam]
    starts: list[int]
    width: int
    height: int

    @property
    def seconds(self) -> float:
        """The film's length in seconds."""
        return self.starts[-1] / assembly.FPS

    @property
    def starts_seconds(self) -> list[float]:
        """Each scene's start in seconds, and the film's length last."""
        return [frame / assembly.FPS for frame in self.starts]

    def edges(self, index: int) -> tuple[int, int]:
        """The frames of scene ``index`` that its transitions take, at its head and its tail."""
        head = self.seams[index - 1].frames if index > 0 else 0
        tail = self.seams[index].frames if index < len(self.seams) else 0
        return head, tail

    def body(self, cues: Sequence[Cue], index: int) -> tuple[int, int, str]:
        """Scene ``index``'s body: its first and end frame on its clip's clock (the
        transitions' frames left out), and its burnt-in lines from ``cues`` (SubRip on the
        body's clock, "" when none)."""
        head, tail = self.edges(index)
        start = self.starts[index] + head
        end = self.starts[index] + self.frames[index] - tail
        return head, self.frames[index] - tail, lines_between(cues, start, end)


def layout(film: Film, scenes: Sequence[Scene], lengths: Sequence[float]) -> Layout:
    """The layout of ``scenes`` lasting ``lengths`` seconds each, at ``film``'s frame size."""
    frames = [assembly.scene_frames(seconds) for seconds in lengths]
    seams = [assembly.Seam(scene.transition) for scene in scenes[:-1]]
    width, height = film.frame_size
    return Layout(frames, seams, assembly.scene_starts(frames, seams), width, height)


def lines_between(cues: Sequence[Cue], first: int, end: int) -> str:
    """The lines of ``cues`` shown from frame ``first`` to ``end`` on the film's clock, as
    SubRip on that stretch's clock; "" when none."""
    shown = within(cues, start=first / assembly.FPS, end=end / assembly.FPS)
    return to_srt(shown) if shown else ""


def film_cues(scenes: Sequence[Scene], starts_seconds: Sequence[float]) -> list[Cue]:
    """Every scene's cues on the film's clock, made comfortable to read (``readable``: at least
    a second up, at most 17 characters a second, where the speech allows); ``starts_seconds``
    has the film's end as its last entry."""
    cues = []
    for scene, start in zip(scenes, starts_seconds, strict=False):
        own = [
            Cue(c["text"], c["start"], c["end"], tuple((w[0], w[1], w[2]) for w in c["words"]))
            for c in scene.cues
        ]
        cues.extend(shifted(own, start + NARRATION_LEAD))
    return readable(cues, end=starts_seconds[-1] if starts_seconds else None)
