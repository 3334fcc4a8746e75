"""Script writers on Amazon Bedrock's Converse API: Anthropic Claude with native structured
output, Amazon Nova with a forced tool. Both are sent the script's JSON schema; the reply is
checked (``writing.script_problems``) and sent back once with its problems before failing.

Sources (as of December 2026): the Converse API reference
(https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html: ``system``,
``messages``, ``inferenceConfig``, ``toolConfig``, ``outputConfig``, ``stopReason``, ``usage``);
"Get validated JSON results from models"
(https://docs.aws.amazon.com/bedrock/latest/userguide/structured-output.html: ``outputConfig.
textFormat`` of type ``json_schema``, the schema sent as a string, a subset of draft 2020-12);
Amazon Nova's tool use ("Tool choice": ``toolChoice: {"tool": {"name": ...}}`` makes the model
call that tool, whose ``inputSchema`` is the schema). IAM: ``bedrock:InvokeModel``.
"""

from __future__ import annotations

import json
import re
from abc import abstractmethod
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from . import aws
from .prompts import repair_message, script_request, system_prompt
from .script import script_schema
from .writing import (
    REPAIR_ROUNDS,
    ScriptBrief,
    ScriptWriter,
    WriterBusy,
    WriterError,
    WrittenScript,
    script_problems,
)

#: Keywords the models' schema subset refuses or ignores (lengths, counts, bounds); they are
#: checked here after the reply instead, and a reply breaking them is sent back.
_CHECKED_HERE = {
    "$schema", "$id", "minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum",
    "uniqueItems",
}  # fmt: skip
#: Most tokens a script's reply may take (a 12-scene script is about 4,000).
MAX_OUTPUT_TOKENS = 8000
#: What an estimate takes a scene of a reply to be, in tokens, and a token to be, in characters
#: of the request (English text and JSON run about 4 characters a token).
TOKENS_PER_SCENE, CHARACTERS_PER_TOKEN = 350, 4


@dataclass(frozen=True)
class Answer:
    """What a Converse call must answer with: a JSON ``schema``, named ``format_name`` for
    Claude's structured output and ``tool_name`` (described by ``tool_description``) for
    Nova's forced tool."""

    schema: dict[str, Any]
    format_name: str
    tool_name: str
    tool_description: str


def script_answer() -> Answer:
    """A film's script (``wire_schema``)."""
    return Answer(wire_schema(), "film_script", "write_script", "Hand over the film's script.")


def wire_schema() -> dict[str, Any]:
    """The script's JSON schema as sent to a model: its shape, types, enums and descriptions
    without the keywords in ``_CHECKED_HERE``."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: strip(value) for key, value in node.items() if key not in _CHECKED_HERE}
        if isinstance(node, list):
            return [strip(value) for value in node]
        return node

    stripped: dict[str, Any] = strip(script_schema())
    return stripped


class ConverseWriter(ScriptWriter):
    """A language model on Bedrock's Converse API. Subclasses say how a schema is sent
    (``structure``) and where the answer is in the reply (``answer_of``); ``model_id``,
    ``region`` and the prices (USD per 1,000 input and output tokens) come from settings."""

    paid = True

    @property
    @abstractmethod
    def model_id(self) -> str:
        """The model or inference-profile id ("us.anthropic...")."""

    @property
    @abstractmethod
    def prices(self) -> tuple[Decimal, Decimal]:
        """USD per 1,000 input tokens and per 1,000 output tokens."""

    @property
    def region(self) -> str:
        """The AWS region the writer is called in."""
        return str(settings.BEDROCK_WRITER_REGION)

    @property
    def foundation_model_id(self) -> str:
        """The model behind ``model_id``: a cross-region inference profile's id without its
        geography ("us.anthropic.claude-…" → "anthropic.claude-…"), for GetFoundationModel."""
        return re.sub(r"^(us|eu|apac|jp|au|ca|us-gov|global)\.", "", self.model_id)

    def is_configured(self) -> bool:
        """Configured once the settings give a model id and a region."""
        return bool(self.model_id and self.region)

    @abstractmethod
    def structure(self, answer: Answer) -> dict[str, Any]:
        """The Converse arguments that make the reply fit ``answer`` (``outputConfig`` or
        ``toolConfig``)."""

    @abstractmethod
    def answer_of(self, message: dict[str, Any], answer: Answer) -> Any:
        """The answer in the reply's ``message`` (a dict, or the text to parse). Raises
        ``ValueError`` when the reply holds none."""

    def write(self, brief: ScriptBrief) -> WrittenScript:
        """Ask the model for a script for ``brief``; send a wrong one back once with its
        problems. Raises ``WriterError`` (``WriterBusy`` when throttled or unreachable)
        carrying the tokens and cost of the calls made before it failed."""
        used = [0, 0]
        try:
            script, repairs = self._write(brief, used)
        except WriterError as error:
            error.input_tokens, error.output_tokens = used
            error.cost_usd = self.cost_usd(*used)
            raise
        return WrittenScript(
            script=script, writer=self.name, input_tokens=used[0], output_tokens=used[1],
            cost_usd=self.cost_usd(*used), repairs=repairs,
        )  # fmt: skip

    def _write(self, brief: ScriptBrief, used: list[int]) -> tuple[dict[str, Any], int]:
        """The script and how many times it was sent back; adds every call's tokens to
        ``used``. Raises ``WriterError``."""
        messages: list[dict[str, Any]] = [script_request(brief)]
        for repairs in range(REPAIR_ROUNDS + 1):
            reply = self.converse(messages, used, system=system_prompt(), answer=script_answer())
            try:
                script = self.answer_of(reply["output"]["message"], script_answer())
                if isinstance(script, str):
                    script = json.loads(script)
                problems = script_problems(script, brief)
            except (ValueError, KeyError, TypeError) as error:
                problems = [f"the reply is not a JSON script ({error})"]
            if not problems:
                return script, repairs
            answer = reply["output"]["message"]
            messages += [answer, repair_message(problems, answer)]
        raise WriterError(
            f"{self.label} wrote a script that does not fit ({'; '.join(problems[:3])}). "
            "Try again, or write it with the template."
        )

    def estimate_usd(self, brief: ScriptBrief) -> Decimal:
        """The most a script for ``brief`` should cost, in USD: the request (the prompt, the
        brief and the schema, ``CHARACTERS_PER_TOKEN``) and a reply of ``TOKENS_PER_SCENE`` a
        scene, each sent again for every repair round (the history grows by the reply)."""
        request = len(system_prompt()) + len(json.dumps(script_request(brief)))
        request += len(json.dumps(self.structure(script_answer())))
        input_tokens, output_tokens = request // CHARACTERS_PER_TOKEN, 0
        reply = TOKENS_PER_SCENE * brief.scene_count + 100
        total_in = total_out = 0
        for _ in range(REPAIR_ROUNDS + 1):
            total_in += input_tokens + output_tokens
            total_out += reply
            output_tokens += reply
        return self.cost_usd(total_in, total_out).quantize(Decimal("0.01"), rounding=ROUND_UP)

    def cost_usd(self, input_tokens: int, output_tokens: int) -> Decimal:
        """What ``input_tokens`` and ``output_tokens`` cost at this model's prices, in USD."""
        per_input, per_output = self.prices
        return (per_input * input_tokens + per_output * output_tokens) / 1000

    def converse(
        self, messages: list[dict[str, Any]], used: list[int], *, system: str, answer: Answer
    ) -> dict[str, Any]:
        """One Converse call whose reply fits ``answer``; adds its tokens to ``used`` (input,
        output). Raises ``WriterError`` (``WriterBusy`` when throttled)."""
        try:
            reply: dict[str, Any] = aws.client("bedrock-runtime", self.region).converse(
                modelId=self.model_id,
                system=[{"text": system}],
                messages=messages,
                inferenceConfig={"maxTokens": MAX_OUTPUT_TOKENS, "temperature": 0.7},
                **self.structure(answer),
            )
        except (ClientError, BotoCoreError) as error:
            raise self._failure(aws.classify(error)) from error
        usage = reply.get("usage", {})
        used[0] += int(usage.get("inputTokens", 0))
        used[1] += int(usage.get("outputTokens", 0))
        stop = reply.get("stopReason", "")
        if stop == "max_tokens":
            raise WriterError(
                f"{self.label} ran out of room before the script ended "
                f"({MAX_OUTPUT_TOKENS} tokens). Ask for fewer scenes, or use the template."
            )
        if stop in ("content_filtered", "guardrail_intervened"):
            raise WriterError(
                f"{self.label}'s content filters refused this idea. Change the idea or its "
                "wording and try again."
            )
        return reply

    def _failure(self, error: aws.ProviderError) -> WriterError:
        """The message a provider error gives the user."""
        if isinstance(error, aws.ProviderBusy):
            return WriterBusy(f"{self.label} is busy ({error.code}); try again in a minute.")
        if isinstance(error, aws.ContentFiltered):
            return WriterError(
                f"{self.label}'s content filters refused this idea. Change the idea and retry."
            )
        if isinstance(error, aws.ProviderUnavailable):
            return WriterError(
                f"{self.label} cannot be reached with this site's AWS access ({error.code}); "
                "the operator must grant it. Write the script with the template meanwhile."
            )
        return WriterError(f"{self.label} refused the request ({error.code}: {error.message}).")


class ClaudeWriter(ConverseWriter):
    """Anthropic Claude on Bedrock, whose reply text is made to fit the schema (structured
    output, ``outputConfig.textFormat``)."""

    name, label = "claude", "Claude (Bedrock)"

    @property
    def model_id(self) -> str:
        return str(settings.CLAUDE_WRITER_MODEL_ID)

    @property
    def prices(self) -> tuple[Decimal, Decimal]:
        return Decimal(settings.CLAUDE_WRITER_USD_PER_1K_INPUT), Decimal(
            settings.CLAUDE_WRITER_USD_PER_1K_OUTPUT
        )

    def structure(self, answer: Answer) -> dict[str, Any]:
        schema = {"name": answer.format_name, "schema": json.dumps(answer.schema)}
        return {
            "outputConfig": {
                "textFormat": {"type": "json_schema", "structure": {"jsonSchema": schema}}
            }
        }

    def answer_of(self, message: dict[str, Any], answer: Answer) -> Any:
        texts = [block["text"] for block in message.get("content", []) if "text" in block]
        if not texts:
            raise ValueError("no text in the reply")
        return "".join(texts)


class NovaWriter(ConverseWriter):
    """Amazon Nova on Bedrock, made to call one tool whose input is the script (a forced
    tool: ``toolChoice`` names it)."""

    name, label = "nova", "Amazon Nova (Bedrock)"

    @property
    def model_id(self) -> str:
        return str(settings.NOVA_WRITER_MODEL_ID)

    @property
    def prices(self) -> tuple[Decimal, Decimal]:
        return Decimal(settings.NOVA_WRITER_USD_PER_1K_INPUT), Decimal(
            settings.NOVA_WRITER_USD_PER_1K_OUTPUT
        )

    def structure(self, answer: Answer) -> dict[str, Any]:
        spec = {
            "name": answer.tool_name,
            "description": answer.tool_description,
            "inputSchema": {"json": answer.schema},
        }
        choice = {"tool": {"name": answer.tool_name}}
        return {"toolConfig": {"tools": [{"toolSpec": spec}], "toolChoice": choice}}

    def answer_of(self, message: dict[str, Any], answer: Answer) -> Any:
        for block in message.get("content", []):
            if block.get("toolUse", {}).get("name") == answer.tool_name:
                return block["toolUse"]["input"]
        raise ValueError(f"the reply does not call {answer.tool_name}")
