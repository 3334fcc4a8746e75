"""The offline script writer: a beat sheet per genre, filled with the idea, theme and cast.

It needs no model. A film of N scenes takes N beats from a twelve-beat sheet (opening image,
set-up, catalyst, ..., final image: the structure of Blake Snyder's *Save the Cat!*), always
keeping the first and the last, and fills each beat's heading, shot, narration and keyframe
descriptions from the genre's vocabulary. Its output is checked against the script's JSON
schema (``generation/schemas/script.schema.json``, documented in ``docs/films.md``), the shape a
language model fills in too. The same inputs and seed give the same script.
"""

from __future__ import annotations

import json
import random
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from .beats import BEATS, ENDINGS, GENRES, MORE_LINES, OPENINGS, Genre

SCHEMA_PATH = Path(__file__).with_name("schemas") / "script.schema.json"
#: Fewest and most scenes a film has.
MIN_SCENES, MAX_SCENES = 3, 12
#: Planned scene lengths, in seconds (the narration may make a scene longer).
MIN_SCENE_SECONDS, MAX_SCENE_SECONDS = 4.0, 60.0


class ScriptError(ValueError):
    """A script does not fit the schema; ``message`` says where, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


#: Words a narrator speaks per second (about 150 a minute), for a scene's narration length.
WORDS_PER_SECOND = 2.5
#: Seconds of a scene without narration: the lead-in, the breath and a transition.
UNSPOKEN_SECONDS = 1.5
#: Most words one scene's narration gets from the writer.
MAX_NARRATION_WORDS = 120


#: Most times one line of ``MORE_LINES`` is said in a film, each time filled differently
#: (another character, another place).
LINE_REPEATS = 3


def _fill(
    first: str, more: list[tuple[str, str]], used: dict[str, set[str]], seconds: float
) -> str:
    """``first``, followed by lines from ``more`` ((template, line filled in) pairs, in order)
    until it is as long as a narrator speaks in a scene of ``seconds`` (less the unspoken part).
    ``used`` maps each template said so far to its lines: no line is said twice and no template
    more than ``LINE_REPEATS`` times; each line said is added to it."""
    wanted = min(MAX_NARRATION_WORDS, (seconds - UNSPOKEN_SECONDS) * WORDS_PER_SECOND)
    text = first
    for template, line in more:
        if len(text.split()) + len(line.split()) > wanted:
            continue  # a shorter line may still fit
        said = used.setdefault(template, set())
        if line not in said and len(said) < LINE_REPEATS:
            said.add(line)
            text = f"{text} {line}"
    return text


def scene_count_for(target_seconds: float) -> int:
    """How many scenes a film of ``target_seconds`` gets by default: one per ten seconds or so,
    between ``MIN_SCENES`` and ``MAX_SCENES``."""
    return max(MIN_SCENES, min(MAX_SCENES, round(target_seconds / 10)))


def _beat_indices(count: int) -> list[int]:
    """``count`` beats: the opening image, the set-up (where the idea is told), the final
    image, and the rest spread evenly over the beats between."""
    last = len(BEATS) - 1
    if count <= 3:
        return [0, 1, last][:count]
    middle, spread = range(2, last), count - 3
    picked = {middle[int((i + 0.5) * len(middle) / spread)] for i in range(spread)}
    return sorted({0, 1, last} | picked)


#: Words a typed sentence may start with that are lower-case inside another sentence; any
#: other first word (a name: "Eileen finds a map") keeps its capital.
LOWER_CASE_OPENERS = frozenset((
    "a", "an", "the", "my", "our", "your", "his", "her", "their", "its", "this", "that",
    "these", "those", "one", "two", "three", "some", "every", "each", "when", "after", "before",
    "while", "once", "in", "on", "at", "during", "as", "if", "someone", "something", "somebody",
    "nobody", "nothing", "no", "all", "there", "it", "they", "we", "he", "she",
))  # fmt: skip


def _sentence(text: str) -> str:
    """``text`` without its closing punctuation, so it reads inside another sentence: its
    first word lower-case when it is a common opener (``LOWER_CASE_OPENERS``), so "A pilot
    finds a map" reads "until a pilot finds a map", and "Eileen finds a map" keeps her name."""
    text = " ".join(text.split()).rstrip(".!?…;, ")
    first = text.split(" ", 1)[0] if text else ""
    # "NASA" stays as it is; "A" is the article.
    if first.lower() in LOWER_CASE_OPENERS and (first == "A" or not first.isupper()):
        text = text[0].lower() + text[1:]
    return text


#: Words after which an idea names a place ("to a lost harbour", "in the old town").
_PLACE_PREPOSITIONS = (
    r"(?:at|in|inside|into|to|towards|near|on|under|across|through|from|beyond|behind)"
)
#: "in a" and "on a" name a thing more often than a place ("a message in a bottle").
#: Words that end a place's name ("the harbour where ...", "the town and ...").
_PLACE_STOPS = frozenset((
    "and", "or", "but", "where", "when", "while", "who", "which", "that", "with", "without",
    "to", "of", "for", "as", "by", "before", "after", "until", "because", "if", "then", "is",
    "was", "are", "were", "finds", "find", "follow", "follows",
))  # fmt: skip


def places_in(idea: str, *, limit: int = 3) -> list[str]:
    """Up to ``limit`` places the idea names, in its order, lower-case: the one to three words
    after a preposition and an article ("a map to a lost harbour in the old town" → ["lost
    harbour", "old town"]). A place of one word must be a noun-like word of four letters or
    more; none found gives []."""
    found: list[str] = []
    stops = _PLACE_STOPS | set(_PLACE_PREPOSITIONS.strip("(?:)").split("|"))
    found_at = rf"\b(?:{_PLACE_PREPOSITIONS}\s+the|(?!in\b|on\b){_PLACE_PREPOSITIONS}\s+an?)\s+"
    for match in re.finditer(found_at, idea, re.IGNORECASE):
        words = []
        for word in re.findall(r"[^\W\d_][\w'-]*|\S", idea[match.end() :])[:3]:
            if word.lower() in stops or not word[0].isalpha():
                break
            words.append(word.lower())
        place = " ".join(words)
        if place and (len(words) > 1 or len(place) >= 4) and place not in found:
            found.append(place)
    return found[:limit]


#: Longest the idea may run inside a scene's narration, in characters: a sentence or two, so a
#: long brief still gives narrations a narrator can speak over one scene (and the schema's
#: 1,000-character limit holds whatever the user typed).
IDEA_IN_NARRATION = 240


def fit_text(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters: at the last sentence end that fits, else
    at the last space, with an ellipsis; unchanged when it fits."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    ends = [match.end() for match in re.finditer(r"[.!?…](?=\s)", head + " ")]
    if ends and ends[-1] > limit // 3:
        return head[: ends[-1]].rstrip()
    cut = head.rsplit(" ", 1)[0] if " " in head else head
    return cut.rstrip(" ,;:") + "…"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _cast_phrase(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _place_of(number: int, count: int, own: list[str], genre: list[str]) -> str:
    """Where scene ``number`` of ``count`` happens: the idea's places (``own``) over most of the
    film, in the idea's order, the first one again for the last scene; the genre's (``genre``)
    for every third scene or when the idea names none."""
    if own and (number % 3 != 2 or number == count - 1):
        return own[0] if number == count - 1 else own[(number - number // 3) % len(own)]
    return genre[number % len(genre)]


def write_script(
    *,
    idea: str,
    theme: str,
    genre: str,
    cast: list[str],
    scene_count: int,
    target_seconds: float,
    seed: int,
    title: str = "",
) -> dict[str, Any]:
    """A script for ``idea`` in ``genre`` (a key of ``GENRES``) with ``cast`` (1-3 character
    names), ``scene_count`` scenes (``MIN_SCENES``..``MAX_SCENES``) sharing ``target_seconds``.

    Returns a dict valid against ``script.schema.json``: ``title``, ``logline`` and ``scenes``
    (heading, shot, narration, first_frame, last_frame, cast, framing, duration_seconds).
    Deterministic for a given seed. Raises ``ScriptError`` for an unknown genre, an empty
    cast or a scene count out of range.
    """
    if genre not in GENRES:
        raise ScriptError(f"Unknown genre “{genre}”.")
    if not cast:
        raise ScriptError("A film needs at least one character.")
    if not MIN_SCENES <= scene_count <= MAX_SCENES:
        raise ScriptError(f"A script has {MIN_SCENES} to {MAX_SCENES} scenes, not {scene_count}.")
    vocabulary = GENRES[genre]
    rng = random.Random(f"script-{seed}")
    idea_text = _narrated(idea) or "something unexpected happened"
    theme_text = _narrated(theme) or "what we share is worth more than what we keep"
    seconds = min(max(target_seconds / scene_count, MIN_SCENE_SECONDS), MAX_SCENE_SECONDS)
    used: dict[str, set[str]] = {}
    beats = _beat_indices(scene_count)
    # The idea's own places come first; the genre's fill the scenes after them.
    own_places = places_in(idea_text)
    genre_places = [
        p for p in rng.sample(vocabulary.places, len(vocabulary.places)) if p not in own_places
    ]
    scenes = [
        _write_scene(
            rng,
            beat=BEATS[index],
            number=number,
            count=len(beats),
            cast=cast,
            vocabulary=vocabulary,
            idea=idea_text,
            theme=theme_text,
            place=_place_of(number, len(beats), own_places, genre_places),
            used=used,
            seconds=seconds,
        )  # fmt: skip
        for number, index in enumerate(beats)
    ]
    script = {
        "title": fit_text(title.strip() or _capital(idea_text), 120),
        "logline": fit_text(_capital(f"{vocabulary.label.lower()}: {idea_text}"), 500),
        "scenes": scenes,
    }
    check_script(script)
    return script


def _narrated(text: str) -> str:
    """``text`` on one line, cut to ``IDEA_IN_NARRATION`` characters, as a sentence to speak
    ("" when empty)."""
    return _sentence(fit_text(" ".join(text.split()), IDEA_IN_NARRATION))


def _write_scene(
    rng: random.Random, *, beat: tuple[str, str, str, str, str, str], number: int, count: int,
    cast: list[str], vocabulary: Genre, idea: str, theme: str, place: str,
    used: dict[str, set[str]], seconds: float,
) -> dict[str, Any]:  # fmt: skip
    """Scene ``number`` of ``count``, written from ``beat`` with the film's words, as the
    schema's scene object. Draws from ``rng`` in a fixed order (the same seed, the same film)."""
    _, framing, shot, narration, first, last = beat
    if number == 0:
        narration = rng.choice(OPENINGS)
    elif number == count - 1:
        narration = rng.choice(ENDINGS)
    in_scene = cast if "{cast}" in shot + narration else [cast[number % len(cast)]]
    stakes = rng.choice(vocabulary.stakes)
    time_of_day = rng.choice(vocabulary.times)
    others = [name for name in cast if name != in_scene[0]]
    words = {
        "hero": in_scene[0],
        # Alone, the hero is pulled apart from "the others", never from themselves.
        "partner": others[0] if others else "the others",
        "cast": _cast_phrase(in_scene),
        "cast_capital": _capital(_cast_phrase(in_scene)),
        "time": time_of_day,
        "idea": idea,
        "theme": theme,
        "theme_capital": _capital(theme),
        "place": place,
        "mood": rng.choice(vocabulary.mood),
        "verb": rng.choice(vocabulary.verbs),
        "stakes": stakes,
        "stakes_capital": _capital(stakes),
    }
    if "{partner}" in shot and others:
        in_scene = [in_scene[0], others[0]]
    exterior = "EXT." if rng.random() < 0.5 else "INT."
    # Enough narration for the scene's length: a film of mostly music reads as empty.
    order = rng.sample(MORE_LINES, len(MORE_LINES))
    more = [(line, _capital(line.format(**words))) for line in order]
    spoken = _fill(_capital(narration.format(**words)), more, used, seconds)
    return {
        "heading": f"{exterior} {place.upper()} - {time_of_day.upper()}",
        "shot": _capital(shot.format(**words)),
        "narration": fit_text(spoken, 1000),
        "first_frame": _capital(first.format(**words)),
        "last_frame": _capital(last.format(**words)),
        "cast": list(dict.fromkeys(in_scene)),
        "framing": framing,
        "duration_seconds": round(seconds, 1),
    }


@cache
def script_schema() -> dict[str, Any]:
    """The script's JSON schema (draft 2020-12), as a dict."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def check_script(script: Any) -> None:
    """Raise ``ScriptError`` naming the first place where ``script`` breaks the schema."""
    validator = jsonschema.Draft202012Validator(script_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(script))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "the script"
        raise ScriptError(f"The script does not fit its schema at {where}: {error.message}")
