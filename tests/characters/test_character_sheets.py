"""Character sheets from photos: a vision model on Bedrock (stubbed at the client with
botocore's Stubber, the exact Converse requests checked) is shown the character's real photos
and writes its appearance, personality and description; the user edits them; script writers
are given the sheet. Bad answers, no model, the budget and other users each get their message
with the character unchanged."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from botocore.stub import ANY
from django.urls import reverse
from PIL import Image

from characters.services import CharacterError
from characters.sheets import describe_from_photos
from films.brief import script_brief
from jobs.models import Charge, ChargeStatus
from tests.generation.test_script_writers import claude_reply, nova_reply

pytestmark = pytest.mark.django_db

SHEET = {
    "appearance": "A woman in a white space suit with a gold visor, standing on grey regolith.",
    "personality": "Calm, methodical, quietly funny.",
    "description": "An astronaut in a white suit with a mirrored gold visor, on the Moon.",
}


@pytest.fixture
def eileen(user, make_character):
    return make_character(user, name="Eileen", photos=("astronaut.png", "rocket.jpg"))


def test_claude_describes_the_character_from_its_photos(claude, eileen, client, user):
    expected = {
        "modelId": ANY, "system": ANY, "inferenceConfig": ANY,
        "outputConfig": {"textFormat": {"type": "json_schema", "structure": {
            "jsonSchema": {"name": "character_sheet", "schema": ANY}}}},
        "messages": [{"role": "user", "content": [
            {"image": {"format": "jpeg", "source": {"bytes": ANY}}},
            {"image": {"format": "jpeg", "source": {"bytes": ANY}}},
            {"text": ANY},
        ]}],
    }  # fmt: skip
    claude.add_response("converse", claude_reply(json.dumps(SHEET), tokens=(3600, 200)), expected)
    sent = []
    claude.client.meta.events.register(
        "before-parameter-build.bedrock-runtime.Converse",
        lambda params, **_: sent.append(params),
    )
    client.force_login(user)
    page = client.get(reverse("characters:detail", args=[eileen.public_id])).content.decode()
    assert "Describe from the photos with Claude (Bedrock)" in page

    response = client.post(reverse("characters:describe", args=[eileen.public_id]), follow=True)

    assert "The sheet was written from the photos" in response.content.decode()
    eileen.refresh_from_db()
    assert (eileen.appearance, eileen.personality, eileen.description) == (
        SHEET["appearance"], SHEET["personality"], SHEET["description"]
    )  # fmt: skip
    photos = [block["image"]["source"]["bytes"] for block in sent[0]["messages"][0]["content"][:2]]
    sizes = [Image.open(io.BytesIO(photo)).size for photo in photos]
    assert all(max(size) <= 1568 for size in sizes) and sizes[0] != sizes[1]
    assert "Eileen" in sent[0]["messages"][0]["content"][2]["text"]
    [charge] = Charge.objects.all()
    # 3,600 × $3 + 200 × $15 per 1,000 tokens.
    assert (charge.status, charge.cost_usd, charge.quantity) == (
        ChargeStatus.SETTLED, Decimal("13.80"), 3800
    )  # fmt: skip
    # The script writer is given the whole sheet.
    brief = script_brief(
        owner=user, idea="A walk on the Moon.", genre="adventure", style="natural",
        cast=[eileen], voice="espeak-en-us", backend="animatic", target_seconds=30,
    )  # fmt: skip
    assert brief.cast[0].sheet == (
        f"{SHEET['description']} Appearance: {SHEET['appearance']} "
        f"Personality: {SHEET['personality']}"
    )


def test_nova_describes_through_its_forced_tool(claude, settings, eileen):
    settings.SCRIPT_WRITERS = ["template", "nova"]
    nova = nova_reply(SHEET)
    nova["output"]["message"]["content"][0]["toolUse"]["name"] = "write_character_sheet"
    claude.add_response(
        "converse", nova, {
            "modelId": "us.amazon.nova-2-lite-v1:0", "system": ANY, "inferenceConfig": ANY,
            "messages": ANY, "toolConfig": {
                "tools": [{"toolSpec": {"name": "write_character_sheet", "description": ANY,
                                        "inputSchema": {"json": ANY}}}],
                "toolChoice": {"tool": {"name": "write_character_sheet"}},
            },
        },
    )  # fmt: skip
    described = describe_from_photos(character=eileen)
    assert described.sheet.personality == SHEET["personality"]


@pytest.mark.parametrize(
    "reply",
    [
        json.dumps({**SHEET, "personality": ""}),
        json.dumps({"appearance": "A suit."}),
        "{not json",
    ],
)
def test_a_sheet_that_does_not_fit_leaves_the_character_as_it_was(claude, eileen, reply):
    claude.add_response("converse", claude_reply(reply, tokens=(3000, 100)))
    with pytest.raises(CharacterError, match="did not write a character sheet that fits"):
        describe_from_photos(character=eileen)
    eileen.refresh_from_db()
    assert (eileen.appearance, eileen.description) == ("", "A test pilot.")
    [charge] = Charge.objects.all()
    assert charge.status == ChargeStatus.SETTLED and charge.quantity == 3100  # still billed


def test_a_refused_call_bills_nothing(claude, eileen):
    claude.add_client_error("converse", "AccessDeniedException", "no model access", 403)
    with pytest.raises(CharacterError, match="the operator must grant it"):
        describe_from_photos(character=eileen)
    assert [c.status for c in Charge.objects.all()] == [ChargeStatus.VOID]


def test_over_the_budget_nothing_is_asked(claude, settings, eileen):
    settings.DAILY_BUDGET_USD = "0.01"
    with pytest.raises(CharacterError, match="Write the sheet yourself"):
        describe_from_photos(character=eileen)
    assert not Charge.objects.exists()


def test_offline_the_sheet_is_the_users_own_text(settings, eileen, client, user):
    settings.BEDROCK_WRITER_REGION = ""
    client.force_login(user)
    url = reverse("characters:detail", args=[eileen.public_id])
    assert "Describe from the photos" not in client.get(url).content.decode()
    response = client.post(reverse("characters:describe", args=[eileen.public_id]), follow=True)
    assert "No vision model is offered on this site" in response.content.decode()
    client.post(url, {
        "details-name": "Eileen", "details-description": "A test pilot.",
        "details-appearance": "Short grey hair, leather jacket.",
        "details-personality": "Stubborn.",
    })  # fmt: skip
    eileen.refresh_from_db()
    assert (eileen.appearance, eileen.personality) == (
        "Short grey hair, leather jacket.",
        "Stubborn.",
    )


def test_nobody_else_can_have_a_character_described(claude, eileen, client, other_user):
    client.force_login(other_user)
    response = client.post(reverse("characters:describe", args=[eileen.public_id]))
    assert response.status_code == 404
    assert not Charge.objects.exists()
