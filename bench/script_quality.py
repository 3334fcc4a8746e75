"""Benchmark: how well each script writer writes the 20 fixed briefs in
``bench/data/script_ideas.json``.

For each writer (the offline template always; ``claude`` and ``nova`` where
``BEDROCK_WRITER_REGION`` and AWS credentials are set, or those named with ``--writers``):
the share of scripts valid first time, valid after the repair round, and failed; the share in
which every cast member is named in the narration or a shot; the share of each idea's content
words the script uses; narration words per second of film against the narrator's rate
(``WORDS_PER_SECOND``); the share of narration sentences that also appear in another of the
writer's scripts (a template's boilerplate); time and tokens per script. Nothing is saved.

Run: .venv/bin/python bench/script_quality.py [--writers template,claude]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamsite.settings")

import django  # noqa: E402

django.setup()

from generation.script import WORDS_PER_SECOND  # noqa: E402
from generation.writers import WRITERS  # noqa: E402
from generation.writing import CastMember, ScriptBrief, WriterError, script_problems  # noqa: E402

IDEAS = Path(__file__).resolve().parent / "data" / "script_ideas.json"
#: Words too common to say whether a script used its idea.
_STOPWORD_TEXT = (
    "a an the and or but of to in on at by for with from into onto his her their its one two "
    "who what how why when that this these those must every each very only then than after "
    "before until while just also about over under finally actually"
)
STOPWORDS = set(_STOPWORD_TEXT.split())


def briefs() -> list[ScriptBrief]:
    """The fixed briefs, as every writer is given them."""
    return [
        ScriptBrief(
            idea=entry["idea"],
            genre=entry["genre"],
            style="natural",
            seed=number,
            cast=tuple(CastMember(name, sheet) for name, sheet in entry["cast"]),
            scene_count=entry["scenes"],
            target_seconds=entry["seconds"],
            scene_seconds=(2.0, 60.0),
        )  # fmt: skip
        for number, entry in enumerate(json.loads(IDEAS.read_text(encoding="utf-8")))
    ]


def content_words(text: str) -> set[str]:
    """The words of ``text`` that carry meaning (lower case, no stop words, 4+ letters)."""
    return {w for w in re.findall(r"[a-z']+", text.lower()) if len(w) > 3 and w not in STOPWORDS}


def sentences(script: dict[str, Any]) -> list[str]:
    """The narration's sentences, normalised (lower case, single spaces)."""
    text = " ".join(scene["narration"] for scene in script["scenes"])
    return [" ".join(s.lower().split()) for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def measure(writer_name: str, cases: list[ScriptBrief]) -> dict[str, Any]:
    """One writer's figures over ``cases``."""
    writer = WRITERS[writer_name]
    first = repaired = failed = named = 0
    coverage, rates, seconds, tokens = [], [], [], []
    all_sentences: list[list[str]] = []
    for brief in cases:
        start = time.perf_counter()
        try:
            written = writer.write(brief)
        except WriterError as error:
            failed += 1
            seconds.append(time.perf_counter() - start)
            tokens.append(error.input_tokens + error.output_tokens)
            continue
        seconds.append(time.perf_counter() - start)
        tokens.append(written.input_tokens + written.output_tokens)
        script = written.script
        assert not script_problems(script, brief), script_problems(script, brief)
        first += written.repairs == 0
        repaired += written.repairs > 0
        text = " ".join(f"{s['narration']} {s['shot']}" for s in script["scenes"])
        named += all(member.name.lower() in text.lower() for member in brief.cast)
        idea_words = content_words(brief.idea)
        coverage.append(len(idea_words & content_words(text)) / max(1, len(idea_words)))
        spoken = sum(len(scene["narration"].split()) for scene in script["scenes"])
        length = sum(scene["duration_seconds"] for scene in script["scenes"])
        rates.append(spoken / length / WORDS_PER_SECOND)
        all_sentences.append(sentences(script))
    films_with = Counter(s for film in all_sentences for s in set(film))
    total = sum(len(film) for film in all_sentences)
    repeated = sum(1 for film in all_sentences for s in film if films_with[s] > 1)
    count = len(cases)
    return {
        "writer": writer_name,
        "valid first time": f"{first / count:.0%}",
        "after repair": f"{repaired / count:.0%}",
        "failed": f"{failed / count:.0%}",
        "every cast member named": f"{named / max(1, count - failed):.0%}",
        "idea's words used": f"{statistics.mean(coverage):.0%}" if coverage else "-",
        "words/s against the rate": f"{statistics.mean(rates):.2f}" if rates else "-",
        "sentences also in another film": f"{repeated / max(1, total):.0%}",
        "seconds a script": f"{statistics.median(seconds):.3f}",
        "tokens a script": f"{statistics.mean(tokens):.0f}",
    }


def available() -> list[str]:
    """The template, and the Bedrock writers where a region and credentials are set."""
    names = ["template"]
    credentials = os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")
    if credentials:
        names += [name for name in ("claude", "nova") if WRITERS[name].is_configured()]
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writers", default="", help="comma-separated (default: available)")
    chosen = parser.parse_args().writers
    names = [name for name in chosen.split(",") if name] or available()
    cases = briefs()
    rows = [measure(name, cases) for name in names]
    columns = list(rows[0])
    print(f"{len(cases)} briefs from {IDEAS.relative_to(ROOT)}\n")
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")


if __name__ == "__main__":
    main()
