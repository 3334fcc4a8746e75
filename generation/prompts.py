"""What a language model is told when it writes a script: the system prompt, the brief as a
user message, and the message that sends a wrong script back with its problems (Converse API
message shapes)."""

from __future__ import annotations

from typing import Any

from .beats import GENRES
from .script import UNSPOKEN_SECONDS, WORDS_PER_SECOND
from .styles import STYLES
from .writing import ScriptBrief


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
    return {"role": "user", "content": [{"text": "\n".join(line for line in lines if line)}]}


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
