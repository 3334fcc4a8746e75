"""Drawing text in any script onto video frames: captions now, burnt-in subtitles next.

One font never covers every script, so a line is set in the first of ``CAPTION_FONTS`` that has
a glyph for each of its characters, and Pillow lays it out through libraqm (HarfBuzz shaping,
FriBiDi ordering), which joins Arabic letters and puts Hebrew and Arabic right to left. A line
that no single font covers is split into runs, each in the first font that covers it; colour
emoji come from a bitmap font drawn at its one size and scaled. Coverage is read from each
font's character map with fontTools. The fonts are Debian's Noto packages (installed by the
Makefile); where none is installed, Pillow's built-in Latin font is used, as before.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from fontTools.ttLib import TTCollection, TTFont
from PIL import Image, ImageDraw, ImageFont

#: The one size a CBDT colour-emoji font (Noto Color Emoji) has, in pixels per em.
_BITMAP_EMOJI_SIZE = 109


@dataclass(frozen=True)
class _Face:
    """One installed font: its file, the face inside a collection, the code points it maps,
    and whether it is a colour bitmap font."""

    path: str
    index: int
    codepoints: frozenset[int]
    colour: bool


@functools.cache
def _faces(paths: tuple[str, ...]) -> tuple[_Face, ...]:
    faces = []
    for entry in paths:
        path, _, index_text = entry.partition("#")
        if not Path(path).is_file():
            continue
        index = int(index_text or 0)
        if path.endswith((".ttc", ".otc")):
            font = TTCollection(path, lazy=True).fonts[index]
        else:
            font = TTFont(path, lazy=True)
        codepoints = frozenset(font.getBestCmap() or {})
        colour = "CBDT" in font or "COLR" in font or "sbix" in font
        faces.append(_Face(path=path, index=index, codepoints=codepoints, colour=colour))
    return tuple(faces)


def installed_faces() -> tuple[_Face, ...]:
    """The fonts of ``settings.CAPTION_FONTS`` (paths, ``#n`` for a face in a collection)
    that exist here, in order of preference."""
    return _faces(tuple(settings.CAPTION_FONTS))


@functools.cache
def _font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.RAQM)


_INVISIBLE = {0x200B, 0x200C, 0x200D, 0xFE0E, 0xFE0F}


def _covers(face: _Face, text: str) -> bool:
    return all(
        ord(char) in face.codepoints or ord(char) in _INVISIBLE or char.isspace() for char in text
    )


@dataclass(frozen=True)
class _Run:
    text: str
    face: _Face | None  # None: Pillow's built-in font


def _runs(text: str, faces: tuple[_Face, ...]) -> list[_Run]:
    """``text`` as runs of one font each: the whole line in one font when some font covers
    it (so shaping and direction see the whole line), else each character in the first font
    that has it, neighbours in the same font joined."""
    for face in faces:
        if _covers(face, text):
            return [_Run(text, face)]
    runs: list[_Run] = []
    for char in text:
        # Spaces go with the text around them, never into a colour font (whose space is as
        # wide as an emoji).
        candidates = [f for f in faces if not (char.isspace() and f.colour)]
        chosen = next((f for f in candidates if _covers(f, char)), None)
        joins = char.isspace() or ord(char) in _INVISIBLE
        if runs and (runs[-1].face == chosen or (joins and not _is_colour(runs[-1].face))):
            runs[-1] = _Run(runs[-1].text + char, runs[-1].face)
        else:
            runs.append(_Run(char, chosen))
    return runs


def _is_colour(face: _Face | None) -> bool:
    return face is not None and face.colour


class TextSetter:
    """Sets lines of any script at ``size`` pixels per em, white, onto RGBA images."""

    def __init__(self, *, size: int) -> None:
        self.size = size
        self.faces = installed_faces()
        self._fallback = ImageFont.load_default(size=size)

    def _font_for(self, face: _Face | None) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        if face is None:
            return self._fallback
        if face.colour:
            return _font(face.path, face.index, _BITMAP_EMOJI_SIZE)
        return _font(face.path, face.index, self.size)

    def _run_image(self, run: _Run) -> Image.Image:
        """One run drawn tightly on a transparent RGBA image ``size`` * 1.5 pixels high, its
        baseline at the same height for every run."""
        height = round(self.size * 1.5)
        font = self._font_for(run.face)
        if run.face is not None and run.face.colour:
            scale = self.size / _BITMAP_EMOJI_SIZE
            big_height = round(height / scale)
            width = max(1, round(font.getlength(run.text)))
            big = Image.new("RGBA", (width, big_height), (0, 0, 0, 0))
            ImageDraw.Draw(big).text(
                (0, big_height * 0.72), run.text, font=font, anchor="ls", embedded_color=True
            )
            return big.resize((max(1, round(width * scale)), height), Image.Resampling.LANCZOS)
        width = max(1, round(font.getlength(run.text)))
        image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
        ImageDraw.Draw(image).text(
            (0, height * 0.72), run.text, font=font, fill=(255, 255, 255, 255), anchor="ls"
        )
        return image

    def line_image(self, text: str) -> Image.Image:
        """``text`` set as one line on a transparent RGBA image, ``size`` * 1.5 pixels high."""
        pieces = [self._run_image(run) for run in _runs(text, self.faces)]
        width = sum(piece.width for piece in pieces)
        line = Image.new("RGBA", (max(1, width), round(self.size * 1.5)), (255, 255, 255, 0))
        x = 0
        for piece in pieces:
            line.alpha_composite(piece, (x, 0))
            x += piece.width
        return line

    def width(self, text: str) -> int:
        """How wide ``text`` is set as one line, in pixels (measured, not drawn)."""
        total = 0.0
        for run in _runs(text, self.faces):
            font = self._font_for(run.face)
            length = font.getlength(run.text)
            if run.face is not None and run.face.colour:
                length *= self.size / _BITMAP_EMOJI_SIZE
            total += max(1, round(length))
        return round(total)

    def wrap(self, text: str, *, max_width: int, max_lines: int) -> list[str]:
        """``text`` broken into at most ``max_lines`` lines no wider than ``max_width``:
        between words where the script has spaces, between characters where it has none (or
        a word is too long); the last line ends in "…" when text was left out."""
        lines: list[str] = []
        current = ""
        for token in _tokens(" ".join(text.split())):
            candidate = (current + token) if current else token.lstrip()
            if not candidate:
                continue
            if self.width(candidate) <= max_width:
                current = candidate
                continue
            if current:
                lines.append(current.rstrip())
            current = token.lstrip()
            while current and self.width(current) > max_width:
                cut = len(current) - 1
                while cut > 1 and self.width(current[:cut]) > max_width:
                    cut -= 1
                lines.append(current[:cut])
                current = current[cut:]
        if current:
            lines.append(current.rstrip())
        if len(lines) > max_lines:
            kept = lines[:max_lines]
            last = kept[-1]
            while last and self.width(last + " …") > max_width:
                last = last[:-1]
            kept[-1] = last.rstrip() + " …"
            return kept
        return lines


def _tokens(text: str) -> Iterator[str]:
    """Words with their leading space; characters of scripts written without spaces (CJK,
    Thai...) are tokens of their own, so lines can break between them."""
    word = ""
    for char in text:
        if char == " ":
            if word:
                yield word
            word = " "
        elif _breaks_anywhere(char):
            if word.strip():
                yield word
                word = ""
            yield (word + char) if word == " " else char
            word = ""
        else:
            word += char
    if word:
        yield word


def _breaks_anywhere(char: str) -> bool:
    code = ord(char)
    return (
        0x3000 <= code <= 0x9FFF  # CJK punctuation, kana, CJK ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x0E00 <= code <= 0x0E7F  # Thai
    )
