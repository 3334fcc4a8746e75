"""Amazon Bedrock's async invocations, shared by the Nova Reel and Luma Ray2 backends.

A cloud clip is an *invocation*: ``StartAsyncInvoke`` returns its ARN at once, the job runs for
minutes at the provider, ``GetAsyncInvoke`` reports ``InProgress``, ``Completed`` or ``Failed``,
and the service writes ``output.mp4`` (with a manifest and status JSON) into a folder named after
the invocation id under the S3 prefix we gave it. The job service (``jobs.cloud``) drives these
calls from short Dramatiq messages; nothing here waits or sleeps.

Source: Amazon Bedrock user guide, "Video generation" and the runtime API reference for
StartAsyncInvoke / GetAsyncInvoke / ListAsyncInvokes (as of November 2026).
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import aws
from .video import ClipInvocationBackend, ClipRequest, InvocationState

#: Largest status documents read when a job failed, in bytes.
_STATUS_DOCUMENT_MAX_BYTES = 64 * 1024


class AsyncInvocationBackend(ClipInvocationBackend):
    """A video model reached through Bedrock's async-invoke API.

    Subclasses set ``model_id``, ``region`` and ``output_s3_uri`` from settings and build the
    model's request body in ``model_input``. Every method raises a ``generation.aws``
    ``ProviderError`` kind when the call fails.
    """

    model_id: str = ""
    region: str = ""
    output_s3_uri: str = ""

    def is_configured(self) -> bool:
        """Configured once the settings give a model id, a region and an output S3 URI."""
        return bool(self.model_id and self.region and self.output_s3_uri)

    @abstractmethod
    def model_input(self, request: ClipRequest) -> dict[str, Any]:
        """The ``modelInput`` document for ``request`` (already validated)."""

    def start(self, request: ClipRequest, *, client_token: str) -> str:
        """Start the invocation and return its ARN.

        ``client_token`` (1-256 printable ASCII characters) makes the call idempotent: sending
        the same token again returns the same invocation instead of billing a second one.
        """
        try:
            response = aws.client("bedrock-runtime", self.region).start_async_invoke(
                modelId=self.model_id,
                modelInput=self.model_input(request),
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": self.output_s3_uri}},
                clientRequestToken=client_token,
            )
        except (ClientError, BotoCoreError) as error:
            raise aws.classify(error) from error
        arn: str = response["invocationArn"]
        return arn

    def find(self, *, client_token: str, submitted_after: datetime) -> str | None:
        """The ARN of an invocation started with ``client_token`` since ``submitted_after``,
        or None. Used when a start may have reached the provider but its ARN was never saved.
        """
        runtime = aws.client("bedrock-runtime", self.region)
        try:
            pages = runtime.get_paginator("list_async_invokes").paginate(
                submitTimeAfter=submitted_after, sortBy="SubmissionTime", sortOrder="Descending"
            )
            for page in pages:
                for summary in page.get("asyncInvokeSummaries", []):
                    if summary.get("clientRequestToken") == client_token:
                        found: str = summary["invocationArn"]
                        return found
        except (ClientError, BotoCoreError) as error:
            raise aws.classify(error) from error
        return None

    def check(self, arn: str) -> InvocationState:
        """The invocation's current status (one GetAsyncInvoke call)."""
        try:
            response = aws.client("bedrock-runtime", self.region).get_async_invoke(
                invocationArn=arn
            )
        except (ClientError, BotoCoreError) as error:
            raise aws.classify(error) from error
        output = response.get("outputDataConfig", {}).get("s3OutputDataConfig", {})
        return InvocationState(
            status=response["status"],
            failure_message=response.get("failureMessage", "") or "",
            output_s3_uri=output.get("s3Uri", ""),
        )

    def output_folder(self, arn: str, state: InvocationState) -> tuple[str, str]:
        """(bucket, key prefix) of the folder the provider writes this invocation's files to."""
        invocation_id = arn.rsplit("/", 1)[-1]
        bucket, prefix = aws.split_s3_uri(state.output_s3_uri or self.output_s3_uri)
        if not prefix.rstrip("/").endswith(invocation_id):
            prefix = f"{prefix}{invocation_id}/"
        return bucket, prefix

    def _list_folder(self, arn: str, state: InvocationState) -> tuple[str, list[str]]:
        bucket, prefix = self.output_folder(arn, state)
        s3 = aws.client("s3", self.region)
        keys: list[str] = []
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        except (ClientError, BotoCoreError) as error:
            raise aws.classify(error) from error
        return bucket, keys

    def download_output(self, arn: str, state: InvocationState, target: Path) -> bool:
        """Copy the finished ``output.mp4`` to ``target``; False if it is not there yet.

        The file can appear slightly after the status turns ``Completed``, so the folder is
        listed rather than the key assumed.
        """
        bucket, keys = self._list_folder(arn, state)
        videos = [key for key in keys if key.rsplit("/", 1)[-1] == "output.mp4"]
        if not videos:
            return False
        try:
            aws.client("s3", self.region).download_file(bucket, videos[0], str(target))
        except (ClientError, BotoCoreError) as error:
            raise aws.classify(error) from error
        return True

    def failure_details(self, arn: str, state: InvocationState) -> str:
        """The provider's failure message plus any status JSON it left in the output folder
        (where a content-filter block names a type such as
        ``RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION``), as one text for classification and logs.
        """
        texts = [state.failure_message]
        try:
            bucket, keys = self._list_folder(arn, state)
            s3 = aws.client("s3", self.region)
            for key in keys:
                if key.endswith(".json"):
                    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
                    texts.append(body.read(_STATUS_DOCUMENT_MAX_BYTES).decode("utf-8", "replace"))
        except (aws.ProviderError, ClientError, BotoCoreError):
            pass  # the message alone still says what failed
        return "\n".join(text for text in texts if text)
