"""Script writers: the exact Converse requests sent for Claude's structured output and Nova's
forced tool (botocore's Stubber at the client), the checks every script passes, one repair
round, and a clear message for each way a model's answer or the provider can fail."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from botocore.stub import ANY, Stubber

from generation import aws
from generation.bedrock_writer import ClaudeWriter, NovaWriter
from generation.writers import get_writer, offered_writers
from generation.writing import CastMember, ScriptBrief, WriterBusy, WriterError, script_problems

REGION = "us-west-2"
BRIEF = ScriptBrief(
    idea="A test pilot and her cat find a map to a lost harbour.",
    genre="adventure",
    style="vintage",
    cast=(
        CastMember("Eileen", "a pilot in her forties, short grey hair, a leather jacket"),
        CastMember("Chelsea", "a ginger tabby cat with a white chest"),
    ),
    scene_count=3,
    target_seconds=30,
    scene_seconds=(4.0, 10.0),
)


def scene(number: int, cast: list[str], **fields) -> dict:
    values = {
        "heading": f"EXT. HARBOUR - DAY {number}",
        "shot": "Eileen, in her leather jacket, unfolds a map on the harbour wall.",
        "narration": "The map was older than the harbour itself, and it was wrong.",
        "first_frame": "A pilot unfolds a map on a stone wall by the sea.",
        "last_frame": "The map lies open; the pilot points at the horizon.",
        "cast": cast,
        "framing": "medium",
        "duration_seconds": 10,
    }
    values.update(fields)
    return values


GOOD = {
    "title": "The Lost Harbour",
    "logline": "A pilot and her cat follow a wrong map to the right place.",
    "scenes": [scene(1, ["Eileen"]), scene(2, ["Eileen", "Chelsea"]), scene(3, ["Chelsea"])],
}


@pytest.fixture
def bedrock(settings):
    """The writers configured against a stubbed runtime client in ``REGION``."""
    settings.BEDROCK_WRITER_REGION = REGION
    settings.BEDROCK_ENDPOINT_URL = ""
    aws.forget_clients()
    with Stubber(aws.client("bedrock-runtime", REGION)) as stub:
        yield stub
        stub.assert_no_pending_responses()
    aws.forget_clients()


def claude_reply(text: str, stop: str = "end_turn", tokens=(1200, 900)) -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
        "metrics": {"latencyMs": 2100},
    }


def nova_reply(script, tool_id: str = "tooluse_1") -> dict:
    call = {"toolUseId": tool_id, "name": "write_script", "input": script}
    return {
        "output": {"message": {"role": "assistant", "content": [{"toolUse": call}]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 1500, "outputTokens": 800, "totalTokens": 2300},
        "metrics": {"latencyMs": 1800},
    }


def sent_schema(request_schema: str) -> dict:
    return json.loads(request_schema)


def test_claude_is_asked_for_structured_output_and_its_script_is_kept(bedrock):
    expected = {
        "modelId": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "system": [{"text": ANY}],
        "messages": [{"role": "user", "content": [{"text": ANY}]}],
        "inferenceConfig": {"maxTokens": 8000, "temperature": 0.7},
        "outputConfig": {
            "textFormat": {
                "type": "json_schema",
                "structure": {"jsonSchema": {"name": "film_script", "schema": ANY}},
            }
        },
    }
    bedrock.add_response("converse", claude_reply(json.dumps(GOOD)), expected)
    written = ClaudeWriter().write(BRIEF)
    assert written.script == GOOD
    assert (written.input_tokens, written.output_tokens, written.repairs) == (1200, 900, 0)
    # Haiku 4.5's list prices: $1 and $5 per million tokens.
    assert written.cost_usd == Decimal("0.0012") + Decimal("0.0045")


def test_the_brief_reaches_the_model_whole(bedrock, monkeypatch):
    sent = {}
    client = aws.client("bedrock-runtime", REGION)
    client.meta.events.register(
        "provide-client-params.bedrock-runtime.Converse", lambda params, **_: sent.update(params)
    )
    bedrock.add_response("converse", claude_reply(json.dumps(GOOD)))
    ClaudeWriter().write(BRIEF)
    text = sent["messages"][0]["content"][0]["text"]
    for words in (
        BRIEF.idea,
        "Eileen: a pilot in her forties",
        "Chelsea: a ginger tabby",
        "Adventure",
        "Vintage",
        "Write 3 scenes",
        "4 to 10 seconds",
        "in English",
    ):
        assert words in text, words
    schema = sent_schema(sent["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"])
    item = schema["properties"]["scenes"]["items"]
    assert set(item["required"]) == {
        "heading", "shot", "narration", "first_frame", "last_frame", "cast", "framing",
        "duration_seconds",
    }  # fmt: skip
    # Lengths and bounds are checked here, after the answer, not sent.
    assert "maxLength" not in json.dumps(schema) and "minimum" not in json.dumps(schema)


def test_nova_is_made_to_call_the_script_tool(bedrock):
    expected = {
        "modelId": "us.amazon.nova-2-lite-v1:0",
        "system": [{"text": ANY}],
        "messages": [{"role": "user", "content": [{"text": ANY}]}],
        "inferenceConfig": {"maxTokens": 8000, "temperature": 0.7},
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "write_script",
                        "description": ANY,
                        "inputSchema": {"json": ANY},
                    }
                }
            ],
            "toolChoice": {"tool": {"name": "write_script"}},
        },
    }
    bedrock.add_response("converse", nova_reply(GOOD), expected)
    written = NovaWriter().write(BRIEF)
    assert written.script == GOOD and written.writer == "nova"


def test_a_wrong_script_is_sent_back_once_with_its_problems(bedrock):
    stranger = copy.deepcopy(GOOD)
    stranger["scenes"][1]["cast"] = ["Eileen", "Mallory"]
    bedrock.add_response("converse", nova_reply(stranger, tool_id="tooluse_first"))
    answer = {"role": "assistant", "content": [{"toolUse": {
        "toolUseId": "tooluse_first", "name": "write_script", "input": stranger}}]}  # fmt: skip
    repair = {
        "role": "user",
        "content": [{"toolResult": {"toolUseId": "tooluse_first", "content": [{"text": ANY}],
                                    "status": "error"}}],
    }  # fmt: skip
    bedrock.add_response(
        "converse",
        nova_reply(GOOD, tool_id="tooluse_second"),
        {
            "modelId": ANY, "system": ANY, "inferenceConfig": ANY, "toolConfig": ANY,
            "messages": [{"role": "user", "content": [{"text": ANY}]}, answer, repair],
        },
    )  # fmt: skip
    written = NovaWriter().write(BRIEF)
    assert written.script == GOOD and written.repairs == 1
    # Both calls' tokens are counted.
    assert (written.input_tokens, written.output_tokens) == (3000, 1600)


@pytest.mark.parametrize(
    "reply, said",
    [
        ("{not json", "is not a JSON script"),
        (json.dumps({**GOOD, "scenes": GOOD["scenes"][:2]}), "write 3 scenes, not 2"),
        (json.dumps({**GOOD, "scenes": [scene(n, ["Eileen"]) for n in (1, 2, 3)]}),
         "no scene shows Chelsea"),
        (json.dumps({**GOOD, "scenes": [*GOOD["scenes"][:2], scene(3, ["Chelsea"],
                                                                  duration_seconds=25)]}),
         "scene 3 lasts 25 s; the video model makes 4 to 10 s"),
        (json.dumps({**GOOD, "title": ""}), "at title"),
    ],
)  # fmt: skip
def test_a_script_still_wrong_after_its_repair_fails_saying_why(bedrock, settings, reply, said):
    settings.CLAUDE_WRITER_USD_PER_1K_INPUT, settings.CLAUDE_WRITER_USD_PER_1K_OUTPUT = "3", "15"
    for _ in range(2):
        bedrock.add_response("converse", claude_reply(reply))
    with pytest.raises(WriterError) as failure:
        ClaudeWriter().write(BRIEF)
    assert said in failure.value.message
    assert "write it with the template" in failure.value.message
    # Both replies were billed though neither fitted: the error says what they used.
    assert (failure.value.input_tokens, failure.value.output_tokens) == (2400, 1800)
    assert failure.value.cost_usd == Decimal("7.2") + Decimal("27")


def test_a_truncated_answer_says_so(bedrock):
    bedrock.add_response("converse", claude_reply('{"title": "The Lo', stop="max_tokens"))
    with pytest.raises(WriterError, match="ran out of room before the script ended") as failure:
        ClaudeWriter().write(BRIEF)
    assert (failure.value.input_tokens, failure.value.output_tokens) == (1200, 900)


@pytest.mark.parametrize("stop", ["content_filtered", "guardrail_intervened"])
def test_a_filtered_answer_says_to_change_the_idea(bedrock, stop):
    bedrock.add_response("converse", claude_reply("", stop=stop))
    with pytest.raises(WriterError, match="content filters refused this idea"):
        ClaudeWriter().write(BRIEF)


@pytest.mark.parametrize(
    "code, status, kind, said",
    [
        ("ThrottlingException", 429, WriterBusy, "is busy (ThrottlingException); try again"),
        ("AccessDeniedException", 403, WriterError, "the operator must grant it"),
        ("ValidationException", 400, WriterError, "refused the request (ValidationException"),
    ],
)
def test_provider_errors_each_get_their_message(bedrock, code, status, kind, said):
    bedrock.add_client_error("converse", code, "nope", http_status_code=status)
    with pytest.raises(kind) as failure:
        NovaWriter().write(BRIEF)
    assert said in failure.value.message
    assert failure.value.cost_usd == 0  # refused: nothing billed


def test_only_configured_writers_are_offered(settings):
    settings.SCRIPT_WRITERS = ["template", "claude", "nova"]
    settings.BEDROCK_WRITER_REGION = ""
    assert [writer.name for writer in offered_writers()] == ["template"]
    with pytest.raises(WriterError, match="“claude” is not offered here"):
        get_writer("claude")
    settings.BEDROCK_WRITER_REGION = REGION
    assert [writer.name for writer in offered_writers()] == ["template", "claude", "nova"]


def test_the_template_writes_a_script_that_passes_every_check():
    written = get_writer("template").write(BRIEF)
    assert written.cost_usd == 0 and written.input_tokens == 0
    assert script_problems(written.script, BRIEF) == []
