"""Subtitles from timed cues: WebVTT (what a browser's ``<track>`` shows) and SubRip (SRT)."""

from __future__ import annotations

from collections.abc import Iterable

from .speech import Cue


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
