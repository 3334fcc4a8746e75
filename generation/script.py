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
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

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


@dataclass(frozen=True)
class Genre:
    """A genre's vocabulary: places (slug-line locations), times of day, what its scenes
    feel like (``mood``), what the hero does (``verbs``) and what is at stake (``stakes``)."""

    label: str
    places: tuple[str, ...]
    times: tuple[str, ...]
    mood: tuple[str, ...]
    verbs: tuple[str, ...]
    stakes: tuple[str, ...]
    music: str


GENRES: dict[str, Genre] = {
    "adventure": Genre(
        "Adventure",
        ("harbour", "mountain pass", "jungle river", "desert ruins", "old market"),
        ("dawn", "day", "dusk"),
        ("sweeping", "sun-bleached", "wind-swept"),
        ("sets out", "climbs", "races", "leaps"),
        ("the way home", "the lost map", "a promise"),
        "heroic",
    ),
    "comedy": Genre(
        "Comedy",
        ("kitchen", "office", "wedding hall", "bus stop", "garden party"),
        ("morning", "day", "evening"),
        ("bright", "cheerful", "busy"),
        ("tries", "trips", "improvises", "bluffs"),
        ("their reputation", "the cake", "a small white lie"),
        "playful",
    ),
    "drama": Genre(
        "Drama",
        ("family home", "hospital corridor", "train station", "empty theatre", "rooftop"),
        ("morning", "afternoon", "night"),
        ("quiet", "warm", "heavy"),
        ("waits", "remembers", "decides", "confesses"),
        ("a family", "a second chance", "the truth"),
        "tender",
    ),
    "mystery": Genre(
        "Mystery",
        ("foggy street", "library", "lighthouse", "antique shop", "locked study"),
        ("dusk", "night", "midnight"),
        ("shadowy", "hushed", "rain-soaked"),
        ("searches", "follows", "notices", "unlocks"),
        ("the missing letter", "a name", "the last clue"),
        "suspense",
    ),
    "science-fiction": Genre(
        "Science fiction",
        ("space station", "neon city", "research lab", "red desert", "cryo bay"),
        ("ship's night", "day cycle", "eclipse"),
        ("humming", "cold blue", "glowing"),
        ("scans", "calibrates", "drifts", "launches"),
        ("the signal", "the colony", "the last reactor"),
        "wonder",
    ),
    "fairy-tale": Genre(
        "Fairy tale",
        ("enchanted forest", "castle tower", "village well", "crooked cottage", "moonlit lake"),
        ("once upon a morning", "twilight", "moonrise"),
        ("golden", "misty", "storybook"),
        ("wanders", "wishes", "bargains", "sings"),
        ("the spell", "the kingdom", "a golden key"),
        "magical",
    ),
    "documentary": Genre(
        "Documentary",
        ("workshop", "field", "city square", "archive", "studio"),
        ("early morning", "day", "late afternoon"),
        ("observational", "natural", "candid"),
        ("explains", "shows", "builds", "listens"),
        ("the craft", "a tradition", "the community"),
        "calm",
    ),
    "romance": Genre(
        "Romance",
        ("café", "seaside promenade", "bookshop", "rooftop garden", "train platform"),
        ("morning", "golden hour", "evening"),
        ("soft", "glowing", "tender"),
        ("smiles", "hesitates", "writes", "runs"),
        ("a first date", "a letter", "goodbye"),
        "tender",
    ),
}

#: The twelve beats, in order: (name, framing, shot, narration, first frame, last frame).
#: Placeholders: {hero} {partner} {cast} {idea} {theme} {place} {mood} {verb} {stakes}.
BEATS: tuple[tuple[str, str, str, str, str, str], ...] = (
    (
        "opening image",
        "wide",
        "A {mood} wide view of the {place}; {hero} is small in the frame.",
        "This is the story of {cast}. It begins at the {place}.",
        "The {place}, empty and {mood}.",
        "{hero} standing in the {place}, looking ahead.",
    ),
    (
        "set-up",
        "medium",
        "{hero} goes about an ordinary day at the {place}.",
        "Every day looked the same, until {idea}.",
        "{hero} at work, unhurried.",
        "{hero} pauses, as if hearing something.",
    ),
    (
        "theme stated",
        "close",
        "Close on {hero}'s face as a thought lands.",
        "Someone once said it plainly: {theme}.",
        "{hero}'s face, thoughtful.",
        "{hero}'s eyes, decided.",
    ),
    (
        "catalyst",
        "medium",
        "Something changes: {hero} {verb}, startled, at the {place}.",
        "Then it happened. Nothing would be simple again.",
        "{hero} turning towards a sound.",
        "{hero} reaching out.",
    ),
    (
        "debate",
        "close",
        "{hero} hesitates, weighing {stakes}.",
        "Should {hero} go on? {stakes_capital} hung in the balance.",
        "{hero} looking down.",
        "{hero} looking up, resolved.",
    ),
    (
        "break into two",
        "wide",
        "{hero} {verb} out of the familiar world, into the {place}.",
        "So {hero} stepped into the unknown.",
        "{hero} at a threshold.",
        "{hero} crossing it, seen from behind.",
    ),
    (
        "fun and games",
        "medium",
        "{cast} together at the {place}, {mood} and hopeful.",
        "For a while, everything went right.",
        "{cast} side by side.",
        "{cast} laughing.",
    ),
    (
        "midpoint",
        "wide",
        "A {mood} reveal at the {place} changes everything.",
        "And then the truth came out: it was about {stakes} all along.",
        "The {place}, seen anew.",
        "{hero} facing the reveal.",
    ),
    (
        "bad guys close in",
        "medium",
        "Pressure mounts; {partner} and {hero} are pulled apart.",
        "But trouble came closer with every step.",
        "{partner} turning away.",
        "{hero} alone.",
    ),
    (
        "all is lost",
        "close",
        "{hero}, still, in the {mood} dark of the {place}.",
        "It seemed that {stakes} was lost.",
        "{hero}'s hands, empty.",
        "{hero}'s face, eyes closed.",
    ),
    (
        "finale",
        "medium",
        "{cast} {verb} together, and win {stakes} back.",
        "Together, {cast} found a way. {theme_capital}.",
        "{cast} ready.",
        "{cast} triumphant.",
    ),
    (
        "final image",
        "wide",
        "The {place} again, {mood}, changed by what happened.",
        "And that is how it ended, and how it began.",
        "{hero} in the {place}.",
        "The {place} at rest, {hero} walking away.",
    ),
)


#: Narration a scene's beat line is followed by, to fill the scene's length: each used once
#: per film, in an order the seed sets. Same placeholders as ``BEATS``, and {time}.
MORE_LINES: tuple[str, ...] = (
    "The {place} was {mood} that {time}.",
    "{hero} had come a long way for {stakes}.",
    "Nobody else seemed to notice.",
    "Every step sounded louder than the last.",
    "Somewhere, a door closed.",
    "{hero} did not look back.",
    "The light changed, slowly, over the {place}.",
    "It was quieter than anyone expected.",
    "There was no map for this part.",
    "{hero} counted the seconds.",
    "For a moment, the whole {place} held its breath.",
    "It would matter later, though no one knew it yet.",
    "The wind carried the smell of rain.",
    "Small things were suddenly important.",
    "{hero} remembered a promise.",
    "The {place} kept its secrets a little longer.",
    "{hero} listened, and the {place} seemed to listen back.",
    "It was a {mood} {time}, the kind people remember.",
    "{partner} said nothing, which said enough.",
    "A bird crossed the sky and was gone.",
    "Later, {hero} would say this was where it really started.",
    "The air smelled of dust and something sweeter.",
    "{hero} tried to speak, and found no words.",
    "Far off, someone was laughing.",
    "Each choice seemed small, and none of them was.",
    "{hero} checked, twice, that it was real.",
    "Hands steady now. Heart, not quite.",
    "There is a silence that comes before every beginning.",
    "The {place} looked smaller than it had in memory.",
    "Not everything lost stays lost.",
    "{hero} thought of home, and then of {stakes}.",
    "The clock on the wall had stopped long ago.",
    "Shadows stretched across the {place}.",
    "It felt like the world was waiting for an answer.",
    "{partner} would have known what to do.",
    "One more step. Then another.",
    "The answer had been there all along, in plain sight.",
    "For once, {hero} let someone else lead.",
    "Voices drifted in from somewhere near.",
    "Nothing about the {place} was quite as it seemed.",
    "{hero} smiled, for the first time in a long while.",
    "The {time} light made everything look possible.",
    "Some doors only open from one side.",
    "It would take courage, and a little luck.",
    "{hero} made a quiet promise to {partner}.",
    "The road behind them had already disappeared.",
    "What had been a rumour was now a fact.",
    "The {place} was full of small, ordinary sounds.",
    "{hero} held on, and did not let go.",
    "Hope is a stubborn thing.",
    "Even the {place} seemed to lean in closer.",
    "The plan was simple. Nothing else was.",
    "{partner} pointed to something at the edge of the {place}.",
    "Everything they needed was already with them.",
    "It was later than anyone thought.",
    "{hero} wrote it down, so it would not be forgotten.",
    "Rain began, softly at first.",
    "{hero} knew the way, or hoped so.",
    "Somewhere a bell rang the hour.",
    "The {place} had seen stranger things, but not many.",
    "Every story needs a moment like this one.",
    "{partner} laughed, and the tension broke.",
    "No one had asked for any of this.",
    "The map, if it was a map, was only the start.",
    "{hero} breathed in, and stepped forward.",
    "Old habits fell away, one by one.",
    "A light came on in a window across the {place}.",
    "Nobody spoke for a long time.",
    "It was the smallest detail that mattered most.",
    "{hero} would not give up on {stakes}, not now.",
    "The {time} turned colder.",
    "Whatever happened next, they would face it together.",
)
#: First and last lines of a film, one of each chosen by the seed.
OPENINGS = (
    "This is the story of {cast}. It begins at the {place}.",
    "It begins at the {place}, {time}, with {cast}.",
    "{cast_capital}, the {place}, and a {mood} {time}: that is where it starts.",
)
ENDINGS = (
    "And that is how it ended, and how it began.",
    "The {place} was quiet again. {cast_capital} had changed.",
    "Some stories end. This one was only taking a breath.",
)
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
    idea_text = _sentence(fit_text(" ".join(idea.split()), IDEA_IN_NARRATION))
    idea_text = idea_text or "something unexpected happened"
    theme_text = _sentence(fit_text(" ".join(theme.split()), IDEA_IN_NARRATION))
    theme_text = theme_text or "what we share is worth more than what we keep"
    seconds = min(max(target_seconds / scene_count, MIN_SCENE_SECONDS), MAX_SCENE_SECONDS)
    used: dict[str, set[str]] = {}
    beats = _beat_indices(scene_count)
    # The idea's own places come first; the genre's fill the scenes after them.
    own_places = places_in(idea_text)
    genre_places = [
        p for p in rng.sample(vocabulary.places, len(vocabulary.places)) if p not in own_places
    ]
    scenes = []
    for number, index in enumerate(beats):
        _, framing, shot, narration, first, last = BEATS[index]
        if number == 0:
            narration = rng.choice(OPENINGS)
        elif number == len(beats) - 1:
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
            "idea": idea_text,
            "theme": theme_text,
            "theme_capital": _capital(theme_text),
            "place": _place_of(number, len(beats), own_places, genre_places),
            "mood": rng.choice(vocabulary.mood),
            "verb": rng.choice(vocabulary.verbs),
            "stakes": stakes,
            "stakes_capital": _capital(stakes),
        }
        if "{partner}" in shot and others:
            in_scene = [in_scene[0], others[0]]
        place = words["place"].upper()
        time = time_of_day.upper()
        exterior = "EXT." if rng.random() < 0.5 else "INT."
        # Enough narration for the scene's length: a film of mostly music reads as empty.
        order = rng.sample(MORE_LINES, len(MORE_LINES))
        more = [(line, _capital(line.format(**words))) for line in order]
        spoken = _fill(_capital(narration.format(**words)), more, used, seconds)
        scenes.append(
            {
                "heading": f"{exterior} {place} - {time}",
                "shot": _capital(shot.format(**words)),
                "narration": fit_text(spoken, 1000),
                "first_frame": _capital(first.format(**words)),
                "last_frame": _capital(last.format(**words)),
                "cast": list(dict.fromkeys(in_scene)),
                "framing": framing,
                "duration_seconds": round(seconds, 1),
            }
        )
    script = {
        "title": fit_text(title.strip() or _capital(idea_text), 120),
        "logline": fit_text(_capital(f"{vocabulary.label.lower()}: {idea_text}"), 500),
        "scenes": scenes,
    }
    check_script(script)
    return script


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
