"""Subtitles from timed cues: WebVTT (what a browser's ``<track>`` shows) and SubRip (SRT)."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence

from .speech import Cue

#: Shortest time a cue stays up, in seconds, and the most characters a second it asks a viewer
#: to read (BBC Subtitle Guidelines, "Timing": 160-180 words a minute, at most about 17
#: characters a second for adults).
MIN_CUE_SECONDS, MAX_CHARS_PER_SECOND = 1.0, 17.0
#: Gap left before the next cue, in seconds (two frames at 24 fps), so cues do not run together.
CUE_GAP = 2 / 24
#: Longest pause, in seconds, across which two cues may be shown as one.
MERGE_PAUSE = 0.5


def _stamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _clean(text: str) -> str:
    # A blank line ends a cue and "-->" starts a timing line in both formats.
    return " ".join(text.split()).replace("-->", "→")


def _escaped(text: str) -> str:
    return _clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _timed_words(cue: Cue) -> str:
    """The cue's text with a WebVTT timestamp tag before each word after the first (W3C
    WebVTT, "cue timestamp"), so a player can show which word is being spoken."""
    words = cue.text.split()
    if len(cue.words) != len(words):
        return _escaped(cue.text)
    parts = [_escaped(words[0])]
    for word, (_, start, _end) in zip(words[1:], cue.words[1:], strict=True):
        tag = f"<{_stamp(start, '.')}>" if cue.start < start < cue.end else ""
        parts.append(f"{tag}{_escaped(word)}")
    return " ".join(parts)


def to_vtt(cues: Iterable[Cue]) -> str:
    """The cues as a WebVTT file (W3C WebVTT), one cue per block, times in seconds; each word
    carries its own start time as a cue timestamp."""
    blocks = ["WEBVTT", ""]
    for cue in cues:
        blocks += [f"{_stamp(cue.start, '.')} --> {_stamp(cue.end, '.')}", _timed_words(cue), ""]
    return "\n".join(blocks)


def to_srt(cues: Iterable[Cue]) -> str:
    """The cues as a SubRip file, numbered from 1."""
    blocks = []
    for number, cue in enumerate(cues, start=1):
        blocks += [
            str(number),
            f"{_stamp(cue.start, ',')} --> {_stamp(cue.end, ',')}",
            _clean(cue.text),
            "",
        ]
    return "\n".join(blocks)


def shifted(cues: Iterable[Cue], by: float) -> list[Cue]:
    """The cues moved ``by`` seconds later (a scene's cues placed on the film's clock)."""
    return [
        Cue(
            cue.text,
            round(cue.start + by, 3),
            round(cue.end + by, 3),
            tuple((word, round(s + by, 3), round(e + by, 3)) for word, s, e in cue.words),
        )
        for cue in cues
    ]


def within(cues: Iterable[Cue], *, start: float, end: float) -> list[Cue]:
    """The part of ``cues`` (on the film's clock, seconds) shown from ``start`` up to ``end``,
    on a clock that starts at ``start``: a cue that runs over either edge is cut there. The
    subtitles of one piece of the film (a scene's body or a transition)."""
    length = end - start
    inside = []
    for cue in cues:
        if cue.end <= start or cue.start >= end:
            continue
        inside.append(
            Cue(
                cue.text,
                round(max(0.0, cue.start - start), 3),
                round(min(length, cue.end - start), 3),
                tuple((w, round(s - start, 3), round(e - start, 3)) for w, s, e in cue.words),
            )
        )
    return inside


def _hurried(cue: Cue) -> bool:
    seconds = cue.end - cue.start
    return seconds < MIN_CUE_SECONDS or len(cue.text) > MAX_CHARS_PER_SECOND * seconds


def readable(cues: Sequence[Cue], *, max_chars: int = 84, end: float | None = None) -> list[Cue]:
    """``cues`` (in order, seconds) made comfortable to read where the speech allows: a cue up
    for under ``MIN_CUE_SECONDS`` or over ``MAX_CHARS_PER_SECOND`` is shown with its neighbour
    when the two fit ``max_chars`` (two lines of 42) and are spoken at most ``MERGE_PAUSE``
    apart (a lone "harbour." of 0.3 s joins its sentence); then each cue stays up until it has
    been up that long and slowly enough, but never into the next cue (``CUE_GAP`` before it)
    nor past ``end``. Starts never move: a cue still appears with its first word."""
    merged: list[Cue] = []
    for cue in cues:
        if merged:
            last = merged[-1]
            text = f"{last.text} {cue.text}"
            if (
                (_hurried(last) or _hurried(cue))
                and len(text) <= max_chars
                and cue.start - last.end <= MERGE_PAUSE
            ):
                merged[-1] = Cue(text, last.start, cue.end, last.words + cue.words)
                continue
        merged.append(cue)
    shown = []
    for index, cue in enumerate(merged):
        if index + 1 < len(merged):
            limit = merged[index + 1].start - CUE_GAP
        else:
            limit = end if end is not None else cue.start + MIN_CUE_SECONDS
        wanted = cue.start + max(MIN_CUE_SECONDS, len(cue.text) / MAX_CHARS_PER_SECOND)
        # Whole milliseconds, rounded down: never into the gap before the next cue.
        until = max(cue.end, math.floor(min(wanted, limit) * 1000) / 1000)
        shown.append(Cue(cue.text, cue.start, until, cue.words))
    return shown


#: Unicode's RIGHT-TO-LEFT MARK: a strong right-to-left character with no glyph.
RLM = "\u200f"


def _right_to_left(line: str) -> bool:
    """Whether the line's first letter with a strong direction is right-to-left (Arabic,
    Hebrew): the Unicode Bidirectional Algorithm's rule for a paragraph's direction (UAX #9,
    P2)."""
    for char in line:
        direction = unicodedata.bidirectional(char)
        if direction in ("R", "AL"):
            return True
        if direction == "L":
            return False
    return False


def for_burning(srt: str) -> str:
    """``srt`` (SubRip text) ready for libass to draw into the picture: each right-to-left
    line between right-to-left marks. libass lays every line out left to right at its base, so
    an Arabic sentence's closing full stop was drawn at its right end; the marks make the
    punctuation at either end take the line's own direction."""
    return "\n".join(
        f"{RLM}{line}{RLM}" if _right_to_left(line) else line for line in srt.split("\n")
    )
