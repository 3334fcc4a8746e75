"""Character sheets from photos: a vision model on Bedrock (Claude or Nova, through the same
``ConverseWriter``) is shown a character's reference photos and writes what it looks like
(face, hair, build, clothing, colours), who it seems to be, and a one-paragraph description
for video prompts. The answer is checked against ``SHEET_SCHEMA``; nothing is guessed.

Source: the Converse API's image content block
(https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageBlock.html: ``format``
jpeg|png|gif|webp, ``source.bytes``; at most 3.75 MB and 8,000 px a side an image).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from typing import Any

import jsonschema

from .bedrock_writer import Answer, ConverseWriter
from .writing import WriterError

#: Longest appearance, personality and description, in characters (the character's fields).
APPEARANCE_MAX_CHARS, PERSONALITY_MAX_CHARS, DESCRIPTION_MAX_CHARS = 1000, 500, 1000

SHEET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["appearance", "personality", "description"],
    "properties": {
        "appearance": {
            "type": "string", "minLength": 1, "maxLength": APPEARANCE_MAX_CHARS,
            "description": "Face, hair, build, clothing and colours, as the photos show them.",
        },
        "personality": {
            "type": "string", "minLength": 1, "maxLength": PERSONALITY_MAX_CHARS,
            "description": "Who they seem to be: manner, mood, a few traits.",
        },
        "description": {
            "type": "string", "minLength": 1, "maxLength": DESCRIPTION_MAX_CHARS,
            "description": "One paragraph a video model can draw them from.",
        },
    },
}  # fmt: skip


@dataclass(frozen=True)
class CharacterSheet:
    """What a character looks like (``appearance``), who they seem to be (``personality``)
    and a one-paragraph ``description`` for video prompts."""

    appearance: str
    personality: str
    description: str


@dataclass(frozen=True)
class DescribedCharacter:
    """A sheet and what writing it took: tokens in and out, and its cost in USD."""

    sheet: CharacterSheet
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


def sheet_answer() -> Answer:
    """The sheet as a Converse answer (the schema without its lengths: checked here)."""
    wire = json.loads(json.dumps(SHEET_SCHEMA))
    for field in wire["properties"].values():
        field.pop("minLength"), field.pop("maxLength")
    return Answer(wire, "character_sheet", "write_character_sheet", "Hand over the sheet.")


def sheet_request(name: str, photos: list[bytes]) -> dict[str, Any]:
    """The user message: the photos (JPEG bytes) and what to write about ``name``."""
    images = [{"image": {"format": "jpeg", "source": {"bytes": photo}}} for photo in photos]
    text = (
        f"These photos show one character, {name}. Write their character sheet for a film "
        "made by a video model: their appearance (face, hair, build, clothing, colours: only "
        "what the photos show), their personality as they come across, and one paragraph a "
        "video model can draw them from. If the character is an animal or a thing, describe "
        "it as it is."
    )
    return {"role": "user", "content": [*images, {"text": text}]}


SYSTEM = (
    "You write character sheets for short films from reference photos. Describe only what "
    "the photos show; never name a real person. Reply with the sheet only."
)


def describe_character(
    writer: ConverseWriter, *, name: str, photos: list[bytes]
) -> DescribedCharacter:
    """``writer``'s sheet of the character ``name`` from ``photos`` (JPEG bytes). Raises
    ``WriterError`` (``WriterBusy`` when throttled) carrying the tokens spent, also when the
    answer does not fit the sheet."""
    used = [0, 0]
    answer = sheet_answer()
    try:
        reply = writer.converse([sheet_request(name, photos)], used, system=SYSTEM, answer=answer)
        try:
            found = writer.answer_of(reply["output"]["message"], answer)
            sheet = json.loads(found) if isinstance(found, str) else found
            jsonschema.validate(sheet, SHEET_SCHEMA)
        except (ValueError, KeyError, TypeError, jsonschema.ValidationError) as error:
            raise WriterError(
                f"{writer.label} did not write a character sheet that fits "
                f"({str(error).splitlines()[0][:200]}). Try again, or write it yourself."
            ) from error
    except WriterError as error:
        error.input_tokens, error.output_tokens = used
        error.cost_usd = writer.cost_usd(*used)
        raise
    return DescribedCharacter(
        CharacterSheet(
            " ".join(sheet["appearance"].split()), " ".join(sheet["personality"].split()),
            " ".join(sheet["description"].split()),
        ),
        input_tokens=used[0], output_tokens=used[1], cost_usd=writer.cost_usd(*used),
    )  # fmt: skip


def estimate_usd(writer: ConverseWriter, *, photos: int) -> Decimal:
    """The most describing a character from ``photos`` photos should cost, in USD: about 1,600
    tokens an image (Anthropic's figure for a 1.15-megapixel picture), the request, and a
    sheet of 600 tokens."""
    cost = writer.cost_usd(1600 * photos + 400, 600)
    return cost.quantize(Decimal("0.01"), rounding=ROUND_UP)
