"""The offline writer's beat sheet and each genre's vocabulary: the twelve beats of Blake
Snyder's *Save the Cat!* (opening image, set-up, catalyst, ..., final image) as templates, the
lines that fill a scene's narration to its length, a film's first and last lines, and per genre
its places, times of day, mood, verbs, stakes and music."""

from __future__ import annotations

from dataclasses import dataclass


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
        "Someone at the {place} once said it plainly: {theme}.",
        "{hero}'s face, thoughtful.",
        "{hero}'s eyes, decided.",
    ),
    (
        "catalyst",
        "medium",
        "Something changes: {hero} {verb}, startled, at the {place}.",
        "Then it happened at the {place}, and nothing would be simple again for {hero}.",
        "{hero} turning towards a sound.",
        "{hero} reaching out.",
    ),
    (
        "debate",
        "close",
        "{hero} hesitates, weighing {stakes}.",
        "Should {hero} go on? For {hero}, {stakes} hung in the balance.",
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
        "For a while, everything went right for {cast}.",
        "{cast} side by side.",
        "{cast} laughing.",
    ),
    (
        "midpoint",
        "wide",
        "A {mood} reveal at the {place} changes everything.",
        "And then the truth came out at the {place}: it was about {stakes} all along.",
        "The {place}, seen anew.",
        "{hero} facing the reveal.",
    ),
    (
        "bad guys close in",
        "medium",
        "Pressure mounts; {partner} and {hero} are pulled apart.",
        "But trouble came closer to {hero} with every step.",
        "{partner} turning away.",
        "{hero} alone.",
    ),
    (
        "all is lost",
        "close",
        "{hero}, still, in the {mood} dark of the {place}.",
        "It seemed to {hero} that {stakes} was lost.",
        "{hero}'s hands, empty.",
        "{hero}'s face, eyes closed.",
    ),
    (
        "finale",
        "medium",
        "{cast} {verb} together, and win {stakes} back.",
        "Together, {cast} found a way, because {theme}.",
        "{cast} ready.",
        "{cast} triumphant.",
    ),
    (
        "final image",
        "wide",
        "The {place} again, {mood}, changed by what happened.",
        "And that is how it ended for {cast}, and how it began.",
        "{hero} in the {place}.",
        "The {place} at rest, {hero} walking away.",
    ),
)


#: Narration a scene's beat line is followed by, to fill the scene's length: each used once
#: per film, in an order the seed sets. Same placeholders as ``BEATS``, and {time}. Every
#: sentence names the hero or the place, so no two films share a sentence word for word.
MORE_LINES: tuple[str, ...] = (
    "The {place} was {mood} that {time}.",
    "{hero} had come a long way for {stakes}.",
    "Nobody else at the {place} seemed to notice.",
    "Every step {hero} took sounded louder than the last.",
    "Somewhere in the {place}, a door closed.",
    "{hero} did not look back.",
    "The light changed, slowly, over the {place}.",
    "The {place} was quieter than {hero} expected.",
    "There was no map for this part of the {place}.",
    "{hero} counted the seconds.",
    "For a moment, the whole {place} held its breath.",
    "It would matter to {hero} later, though no one knew it yet.",
    "The wind over the {place} carried the smell of rain.",
    "Small things were suddenly important to {hero}.",
    "{hero} remembered a promise.",
    "The {place} kept its secrets a little longer.",
    "{hero} listened, and the {place} seemed to listen back.",
    "It was a {mood} {time} at the {place}, the kind people remember.",
    "{partner} said nothing to {hero}, which said enough.",
    "A bird crossed the sky above the {place} and was gone.",
    "Later, {hero} would say this was where it really started.",
    "The {place} smelled of dust and something sweeter.",
    "{hero} tried to speak, and found no words.",
    "Far off across the {place}, someone was laughing.",
    "Each choice {hero} made seemed small, and none of them was.",
    "{hero} checked, twice, that it was real.",
    "{hero}'s hands were steady now, the heart not quite.",
    "A silence fell over the {place}, the kind that comes before every beginning.",
    "The {place} looked smaller than it had in {hero}'s memory.",
    "Not everything {hero} had lost would stay lost.",
    "{hero} thought of home, and then of {stakes}.",
    "The clock in the {place} had stopped long ago.",
    "Shadows stretched across the {place}.",
    "To {hero}, it felt like the world was waiting for an answer.",
    "{partner} would have known what to do, {hero} thought.",
    "{hero} took one more step, then another.",
    "The answer had been in the {place} all along, in plain sight.",
    "For once, {hero} let someone else lead.",
    "Voices drifted in from somewhere near the {place}.",
    "Nothing about the {place} was quite as it seemed.",
    "{hero} smiled, for the first time in a long while.",
    "The {time} light made everything look possible to {hero}.",
    "Some doors in the {place} only open from one side.",
    "It would take courage from {hero}, and a little luck.",
    "{hero} made a quiet promise to {partner}.",
    "The road behind {hero} had already disappeared.",
    "What {hero} had heard as a rumour was now a fact.",
    "The {place} was full of small, ordinary sounds.",
    "{hero} held on, and did not let go.",
    "Hope is a stubborn thing, and {hero} was stubborn too.",
    "Even the {place} seemed to lean in closer.",
    "The plan {hero} had was simple, and nothing else was.",
    "{partner} pointed to something at the edge of the {place}.",
    "Everything {hero} needed was already there.",
    "It was later in the {place} than anyone thought.",
    "{hero} wrote it down, so it would not be forgotten.",
    "Rain began over the {place}, softly at first.",
    "{hero} knew the way, or hoped so.",
    "Somewhere beyond the {place}, a bell rang the hour.",
    "The {place} had seen stranger things, but not many.",
    "Every story needs a moment like this one, and {hero} knew it.",
    "{partner} laughed, and the tension at the {place} broke.",
    "No one had asked {hero} for any of this.",
    "What {hero} held, if it was a map, was only the start.",
    "{hero} breathed in, and stepped forward.",
    "Old habits fell away from {hero}, one by one.",
    "A light came on in a window across the {place}.",
    "Nobody in the {place} spoke for a long time.",
    "For {hero}, the smallest detail mattered most.",
    "{hero} would not give up on {stakes}, not now.",
    "The {time} over the {place} turned colder.",
    "Whatever happened next, {hero} would face it.",
)
#: First and last lines of a film, one of each chosen by the seed.
OPENINGS = (
    "This is the story of {cast}, and it begins at the {place}.",
    "It begins at the {place}, {time}, with {cast}.",
    "{cast_capital}, the {place}, and a {mood} {time}: that is where it starts.",
)
ENDINGS = (
    "And that is how it ended for {cast}, and how it began.",
    "The {place} was quiet again, and {cast} had changed.",
    "Some stories end at a place like the {place}; this one, {cast}'s, was only taking a breath.",
)
