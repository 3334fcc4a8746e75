"""A language-model script writer for tests: Claude on Bedrock with its runtime client stubbed
(botocore's Stubber), offered beside the template."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from generation import aws

REGION = "eu-west-1"


@pytest.fixture
def claude(settings):
    """Claude configured as a writer, its runtime client stubbed; prices $3 and $15 per
    1,000 tokens in and out (so every figure shows in cents)."""
    settings.BEDROCK_WRITER_REGION = REGION
    settings.BEDROCK_ENDPOINT_URL = ""
    settings.SCRIPT_WRITERS = ["template", "claude"]
    settings.CLAUDE_WRITER_USD_PER_1K_INPUT = "3"
    settings.CLAUDE_WRITER_USD_PER_1K_OUTPUT = "15"
    settings.BEDROCK_BUSY_RETRY_SECONDS = 0.05
    settings.DAILY_BUDGET_USD = "500.00"
    aws.forget_clients()
    with Stubber(aws.client("bedrock-runtime", REGION)) as stub:
        yield stub
        stub.assert_no_pending_responses()
    aws.forget_clients()
