"""What a language model is told when it writes a script: the system prompt, the brief as a
user message, and the message that sends a wrong script back with its problems (Converse API
message shapes)."""

from __future__ import annotations

import json
from typing import Any

from .beats import GENRES
from .script import UNSPOKEN_SECONDS, WORDS_PER_SECOND
from .styles import STYLES
from .writing import Revision, ScriptBrief


def system_prompt() -> str:
    """The writer's standing instructions (the same for every film)."""
    return (
        "You write scripts for short narrated films made by a video model, one clip per "
        "scene. Each scene has a slug-line heading, the shot (what the camera sees, as a "
        "prompt for the video model: subject, action, setting, light, camera move), the "
        "narration spoken over it, the scene's first and last frames (the last continues the "
        "first: the same place and people a few seconds later), the characters in the shot, "
        "its framing and its planned length in seconds. Use only the cast's names as given; "
        "every cast member appears in at least one scene. Describe characters by their sheet "
        "in shots and frames, since the video model has not met them. The narration tells the "
        "story; it never reads out camera directions. Reply with the script only."
    )


def script_request(brief: ScriptBrief) -> dict[str, Any]:
    """The user message asking for a script for ``brief``."""
    genre = GENRES[brief.genre].label if brief.genre in GENRES else brief.genre
    style = STYLES[brief.style][0] if brief.style in STYLES else brief.style
    seconds = brief.target_seconds / brief.scene_count
    words = max(1, round((seconds - UNSPOKEN_SECONDS) * WORDS_PER_SECOND))
    shortest, longest = brief.scene_seconds
    cast = "\n".join(
        f"- {member.name}: {member.sheet or 'no description yet'}" for member in brief.cast
    )
    lines = [
        f"Idea: {brief.idea}",
        f"Theme: {brief.theme}" if brief.theme else "",
        f"Title: {brief.title}" if brief.title else "Title: choose one.",
        f"Genre: {genre}. Visual style: {style}.",
        f"Cast:\n{cast}",
        f"Write {brief.scene_count} scenes, about {seconds:.0f} seconds each "
        f"({brief.target_seconds:.0f} seconds in all); each scene lasts {shortest:g} to "
        f"{longest:g} seconds.",
        f"Write the narration in {brief.language}, about {words} words a scene (a narrator "
        f"says {WORDS_PER_SECOND * 60:.0f} words a minute).",
        "Each scene opens on its first frame and closes on its last, which the video model "
        "is given as pictures."
        if brief.keyframes
        else "",
    ]
    if brief.revision is not None:
        lines.append(revision_request(brief.revision))
    return {"role": "user", "content": [{"text": "\n".join(line for line in lines if line)}]}


def revision_request(revision: Revision) -> str:
    """The part of the request that asks for a change to a written script: the script as it
    stands (JSON) and what to change, everything else kept."""
    current = json.dumps(revision.script, ensure_ascii=False)
    count = len(revision.script["scenes"])
    if revision.continuing:
        what = (
            f"Add scene {count + 1}, which follows on from scene {count}; send all "
            f"{count + 1} scenes, the first {count} exactly as they are."
        )
    elif revision.scene is not None:
        what = (
            f"Rewrite scene {revision.scene} only; send all {count} scenes, every other scene "
            "exactly as it is."
        )
    else:
        what = f"Rewrite the script; send all {count} scenes."
    instruction = f" The director asks: {revision.instruction}" if revision.instruction else ""
    return f"The script as it stands:\n{current}\n{what}{instruction}"


def repair_message(problems: list[str], answer: dict[str, Any]) -> dict[str, Any]:
    """The user message that sends ``answer`` (the model's reply message) back with its
    ``problems``: a tool's result where the answer called a tool (Converse requires it)."""
    text = "The script has these problems; send the whole script again, fixed:\n" + "\n".join(
        f"- {problem}" for problem in problems
    )
    for block in answer.get("content", []):
        if "toolUse" in block:
            result = {
                "toolUseId": block["toolUse"]["toolUseId"],
                "content": [{"text": text}],
                "status": "error",
            }
            return {"role": "user", "content": [{"toolResult": result}]}
    return {"role": "user", "content": [{"text": text}]}
