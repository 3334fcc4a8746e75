"""A character's sheet written from its photos by a vision model (``generation.describing``):
what it looks like, who it seems to be, and a paragraph for video prompts, stored on the
character for the user to edit. Its cost is reserved against the owner's daily budget and
settled at what the call used. Offline (no model offered) the sheet is the user's own text."""

from __future__ import annotations

from django.db import transaction

from generation.bedrock_writer import ConverseWriter
from generation.describing import DescribedCharacter, describe_character, estimate_usd
from generation.writers import offered_writers
from generation.writing import WriterError
from jobs import budget, ledger
from jobs.models import ChargeUnit

from .images import vision_jpeg
from .models import Character
from .services import CharacterError


def sheet_writer() -> ConverseWriter | None:
    """The vision model that describes characters: the first language model offered here
    (``SCRIPT_WRITERS`` order); None where none is."""
    for writer in offered_writers():
        if isinstance(writer, ConverseWriter):
            return writer
    return None


def describe_from_photos(*, character: Character) -> DescribedCharacter:
    """Have a vision model write ``character``'s appearance, personality and description from
    its photos, replacing those fields. Raises ``CharacterError`` (the character unchanged)
    with no model offered, no photos, over the budget, or when the model fails (its tokens are
    still billed to the ledger)."""
    writer = sheet_writer()
    if writer is None:
        raise CharacterError("No vision model is offered on this site: write the sheet yourself.")
    images = character.ordered_images()
    if not images:
        raise CharacterError(f"“{character.name}” has no photos to describe.")
    photos = []
    for image in images:
        with image.image.open("rb") as stored:
            photos.append(vision_jpeg(stored.read()))
    with transaction.atomic():
        try:
            estimate = budget.reserve(
                owner=character.owner, estimate_usd=estimate_usd(writer, photos=len(photos)),
                what=f"Describing “{character.name}”", cheaper="Write the sheet yourself.",
            )  # fmt: skip
        except budget.BudgetExceeded as error:
            raise CharacterError(error.message) from None
        charge = ledger.reserve(
            owner_id=character.owner_id, job=None, backend=writer.name, unit=ChargeUnit.TOKENS,
            quantity=0, estimate_usd=estimate,
        )  # fmt: skip
    try:
        described = describe_character(writer, name=character.name, photos=photos)
    except WriterError as error:
        ledger.settle_tokens(
            charge.pk, tokens=error.input_tokens + error.output_tokens, cost_usd=error.cost_usd
        )
        raise CharacterError(error.message) from None
    ledger.settle_tokens(
        charge.pk, tokens=described.input_tokens + described.output_tokens,
        cost_usd=described.cost_usd,
    )  # fmt: skip
    sheet = described.sheet
    Character.objects.filter(pk=character.pk).update(
        appearance=sheet.appearance, personality=sheet.personality, description=sheet.description
    )
    character.refresh_from_db()
    return described
