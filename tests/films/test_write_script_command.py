"""``manage.py write_script``: a script from any offered writer, printed, nothing saved; the
cast's descriptions reach a model as their character sheets."""

from __future__ import annotations

import json
import re

import pytest
from botocore.stub import Stubber
from django.core.management import call_command
from django.core.management.base import CommandError

from films.models import Film
from generation import aws
from generation.writing import CastMember, ScriptBrief, script_problems
from tests.film_fixtures import make_cast

pytestmark = pytest.mark.django_db

COMMAND = ["--user", "alice@example.com", "--character", "Eileen", "--character", "chelsea",
           "--idea", "A test pilot and her cat find a map to a lost harbour.", "--scenes", "3",
           "--seconds", "30"]  # fmt: skip


def brief(cast: list[str]) -> ScriptBrief:
    return ScriptBrief(
        idea="", genre="adventure", cast=tuple(CastMember(n) for n in cast), scene_count=3,
        target_seconds=30,
    )  # fmt: skip


def test_the_template_prints_a_valid_script_and_saves_no_film(user, make_character, capsys):
    make_cast(make_character, user)
    call_command("write_script", *COMMAND, "--json")
    script = json.loads(capsys.readouterr().out)
    assert script_problems(script, brief(["Eileen", "Chelsea"])) == []
    assert not Film.objects.exists()


def test_a_model_writer_gets_the_cast_sheets_and_its_script_is_printed(
    user, make_character, capsys, settings
):
    eileen, chelsea = make_cast(make_character, user)
    eileen.description = "A pilot in her forties,\nshort grey hair, a leather jacket."
    eileen.save()
    settings.BEDROCK_WRITER_REGION = "us-east-1"
    settings.BEDROCK_ENDPOINT_URL = ""
    aws.forget_clients()
    scene = {
        "heading": "EXT. HARBOUR - DAY", "shot": "A pilot and a cat on a harbour wall.",
        "narration": "They had the wrong map.", "first_frame": "A map.", "last_frame": "The sea.",
        "cast": ["Eileen", "Chelsea"], "framing": "wide", "duration_seconds": 10,
    }  # fmt: skip
    script = {"title": "Wrong Map", "logline": "A map leads astray.", "scenes": [scene] * 3}
    sent: dict = {}
    client = aws.client("bedrock-runtime", "us-east-1")
    client.meta.events.register(
        "provide-client-params.bedrock-runtime.Converse", lambda params, **_: sent.update(params)
    )
    with Stubber(client) as stub:
        stub.add_response(
            "converse",
            {
                "output": {
                    "message": {"role": "assistant", "content": [{"text": json.dumps(script)}]}
                },
                "stopReason": "end_turn",
                "usage": {"inputTokens": 900, "outputTokens": 400, "totalTokens": 1300},
                "metrics": {"latencyMs": 900},
            },
        )
        call_command("write_script", *COMMAND, "--writer", "claude")
    aws.forget_clients()
    output = capsys.readouterr().out
    assert "Wrong Map" in output and "Narration: They had the wrong map." in output
    assert "900 tokens in, 400 out" in output
    request = sent["messages"][0]["content"][0]["text"]
    assert "Eileen: A pilot in her forties, short grey hair, a leather jacket." in request
    assert "Chelsea: A test pilot." in request


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--writer", "claude"], "“claude” is not offered here (offered: template)"),
        (["--writer", "gpt"], "“gpt” is not offered here"),
        (["--character", "Zed"], "has no character called 'Zed'"),
        (["--scenes", "40"], "A new film has 3 to 12 scenes, not 40."),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(user, make_character, settings, arguments,
                                                   message):  # fmt: skip
    settings.BEDROCK_WRITER_REGION = ""
    make_cast(make_character, user)
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("write_script", *COMMAND, *arguments)
