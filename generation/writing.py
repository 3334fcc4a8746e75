"""Script writers: what every writer is given (``ScriptBrief``), what it returns
(``WrittenScript``), the interface (``ScriptWriter``) and the checks every script passes
whoever wrote it (``script_problems``).

A writer fills in the script's JSON schema (``generation/schemas/script.schema.json``): the
offline template (``template``), or a language model on Amazon Bedrock (``generation.
bedrock_writer``). A model's script that fails the checks is sent back once with the problems
(``REPAIR_ROUNDS``); one still wrong fails with a message that offers the template.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import jsonschema

from .script import MAX_SCENES, MIN_SCENES, WORDS_PER_SECOND, script_schema

#: Times a model's script that fails the checks is sent back with its problems.
REPAIR_ROUNDS = 1


@dataclass(frozen=True)
class CastMember:
    """A character in the film: ``name``, and ``sheet``, what they look like and who they are
    (the user's own words; "" when none is written)."""

    name: str
    sheet: str = ""


@dataclass(frozen=True)
class Revision:
    """A change asked of a written ``script`` (a dict of the schema's shape): rewrite scene
    ``scene`` (1-based) or, when None, the whole script, following ``instruction``; or, with
    ``continuing``, add one scene after the last that follows on from it."""

    script: dict[str, Any]
    instruction: str
    scene: int | None = None
    continuing: bool = False


@dataclass(frozen=True)
class ScriptBrief:
    """What a writer is given: the ``idea``, ``theme`` (may be ""), ``genre`` (a key of
    ``generation.beats.GENRES``), visual ``style`` (a key of ``generation.styles.STYLES``), the
    ``cast`` (one to three), ``scene_count`` scenes sharing ``target_seconds``, the narration's
    ``language`` (its English name, e.g. "English"), the clip backend's scene lengths
    (``scene_seconds``: shortest and longest, seconds) and whether it opens and closes on given
    keyframes (``keyframes``), a ``seed`` (the template's; models ignore it), a ``title``
    ("" lets the writer choose), and the ``revision`` asked of a written script (None: a new
    script); a revision's ``scene_count`` is the revised script's."""

    idea: str
    genre: str
    cast: tuple[CastMember, ...]
    scene_count: int
    target_seconds: float
    seed: int = 0
    theme: str = ""
    style: str = ""
    title: str = ""
    language: str = "English"
    scene_seconds: tuple[float, float] = (2.0, 60.0)
    keyframes: bool = True
    revision: Revision | None = None

    @property
    def cast_names(self) -> list[str]:
        """The cast's names, in order."""
        return [member.name for member in self.cast]


@dataclass
class WrittenScript:
    """A script valid against the schema and ``script_problems``, with what writing it took:
    the ``writer``'s name, tokens in and out (0 offline), its cost in USD, and how many times
    it was sent back (``repairs``)."""

    script: dict[str, Any]
    writer: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = field(default_factory=Decimal)
    repairs: int = 0


class WriterError(Exception):
    """Writing failed; ``message`` says why, for the user (the template always works).
    ``input_tokens``, ``output_tokens`` and ``cost_usd`` (USD) are what the calls made before
    the failure used: a model may bill a reply it wrote that did not fit."""

    def __init__(
        self,
        message: str,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost_usd: Decimal | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.input_tokens, self.output_tokens = input_tokens, output_tokens
        self.cost_usd = cost_usd if cost_usd is not None else Decimal(0)


class WriterBusy(WriterError):
    """The provider is throttling or briefly away: the same request may succeed later."""


class ScriptWriter(ABC):
    """A way to write a script: ``name`` (stored on a film), ``label`` (for people)."""

    name: str = ""
    label: str = ""
    #: Whether writing costs money (a model on Bedrock) or is free (offline).
    paid: bool = False

    def is_configured(self) -> bool:
        """Whether this site can use the writer (its settings are given)."""
        return True

    def estimate_usd(self, brief: ScriptBrief) -> Decimal:
        """The most writing a script for ``brief`` should cost, in USD (0 when free)."""
        return Decimal(0)

    @abstractmethod
    def write(self, brief: ScriptBrief) -> WrittenScript:
        """Write a script for ``brief``. Raises ``WriterError`` (``WriterBusy`` when asking
        again later may work) with a message for the user."""


def script_problems(script: Any, brief: ScriptBrief) -> list[str]:
    """Everything wrong with ``script`` for ``brief``, in words a model (or a person) can act
    on; [] when it is right. Checks the JSON schema, the scene count, that scenes name only the
    cast and that every cast member appears (not for a revision, which keeps the director's
    scenes), each scene's length within the backend's, and narration that a narrator can speak
    in the scene (``WORDS_PER_SECOND``)."""
    validator = jsonschema.Draft202012Validator(script_schema())
    problems = [
        f"at {'/'.join(str(p) for p in error.absolute_path) or 'the top'}: {error.message}"
        for error in sorted(validator.iter_errors(script), key=lambda e: list(e.absolute_path))
    ]
    if problems:
        return problems
    scenes = script["scenes"]
    if len(scenes) != brief.scene_count:
        problems.append(f"write {brief.scene_count} scenes, not {len(scenes)}")
    # A revision keeps the storyboard's scenes as the director left them.
    if brief.revision is None and not MIN_SCENES <= len(scenes) <= MAX_SCENES:
        problems.append(f"a film has {MIN_SCENES} to {MAX_SCENES} scenes")
    names = brief.cast_names
    shortest, longest = brief.scene_seconds
    for number, scene in enumerate(scenes, start=1):
        strangers = [name for name in scene["cast"] if name not in names]
        if strangers:
            problems.append(
                f"scene {number} names {', '.join(strangers)}, who is not in the cast "
                f"({', '.join(names)})"
            )
        seconds = scene["duration_seconds"]
        if not shortest <= seconds <= longest:
            problems.append(
                f"scene {number} lasts {seconds:g} s; the video model makes "
                f"{shortest:g} to {longest:g} s"
            )
        words = len(scene["narration"].split())
        if words > WORDS_PER_SECOND * longest:
            problems.append(
                f"scene {number}'s narration has {words} words, more than a narrator says in "
                f"the longest scene ({longest:g} s)"
            )
    appearing = {name for scene in scenes for name in scene["cast"]}
    missing = [name for name in names if name not in appearing]
    if missing and brief.revision is None:
        problems.append(f"no scene shows {', '.join(missing)}; every cast member must appear")
    return problems
