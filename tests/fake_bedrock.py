"""A fake Amazon Bedrock on localhost: the async-invoke REST API, GetFoundationModel and
Converse (answering scripted film scripts).

It speaks the same HTTP as AWS (paths, JSON bodies, ``x-amzn-ErrorType`` error headers), so the
real boto3 client and all of our code run unchanged against it with ``BEDROCK_ENDPOINT_URL``.
A job answers ``InProgress`` for ``in_progress_polls`` status calls, then finishes as scripted;
on success it writes ``output.mp4`` into the output bucket (moto's S3 server), as Bedrock does.
Tests and benchmarks script errors with ``start_errors`` / ``get_errors`` and read what was
sent from ``starts`` and ``poll_times``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

import boto3

ACCOUNT = "123456789012"


@dataclass
class FakeJob:
    arn: str
    model_id: str
    token: str
    body: dict
    output_uri: str
    submitted: datetime
    polls: int = 0
    status: str = "InProgress"
    failure_message: str = ""


@dataclass
class Outcome:
    """How jobs end: "Completed", or "Failed" with a message and an optional status JSON."""

    status: str = "Completed"
    failure_message: str = ""
    status_document: dict | None = None
    #: Status calls answered "Completed" before output.mp4 appears in the bucket.
    output_late_polls: int = 0


@dataclass
class FakeBedrock:
    s3_endpoint: str
    region: str = "us-east-1"
    in_progress_polls: int = 2
    outcome: Outcome = field(default_factory=Outcome)
    output_video: bytes = b""
    #: (HTTP status, error code, message) answered to the next StartAsyncInvoke calls.
    start_errors: list = field(default_factory=list)
    get_errors: list = field(default_factory=list)
    #: Seconds StartAsyncInvoke waits after taking the job, before it answers.
    start_delay_seconds: float = 0.0
    #: model id -> modelLifecycle dict, or (status, code, message) for an error.
    models: dict = field(default_factory=dict)
    jobs: dict = field(default_factory=dict)
    starts: list = field(default_factory=list)
    poll_times: dict = field(default_factory=dict)
    record_poll_times: bool = False
    #: What the next Converse calls answer: a script or a sheet (dict), or (status, code,
    #: message).
    scripts: list = field(default_factory=list)
    #: Seconds a Converse call takes to answer, and the requests it was sent.
    converse_delay_seconds: float = 0.0
    converses: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._s3 = boto3.client(
            "s3",
            region_name="us-east-1",
            endpoint_url=self.s3_endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeBedrock:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                fake._dispatch(self, "GET")

            def do_POST(self) -> None:
                fake._dispatch(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- HTTP --------------------------------------------------------------------------------
    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length) or b"{}") if length else {}
        try:
            if method == "POST" and url.path == "/async-invoke":
                status, payload = self._start(body)
            elif method == "GET" and url.path.startswith("/async-invoke/"):
                status, payload = self._get(unquote(url.path[len("/async-invoke/") :]))
            elif method == "GET" and url.path == "/async-invoke":
                status, payload = self._list(parse_qs(url.query))
            elif method == "POST" and url.path.endswith("/converse"):
                status, payload = self._converse(body)
            elif method == "GET" and url.path == "/__poll-gaps":
                status, payload = 200, self.poll_gaps()
            elif method == "GET" and url.path.startswith("/foundation-models/"):
                status, payload = self._model(unquote(url.path[len("/foundation-models/") :]))
            else:
                status, payload = (404, "UnknownOperationException", "no such operation")
        except Exception as error:  # a fake that breaks must say why
            status, payload = 500, ("InternalServerException", repr(error))
        if isinstance(payload, tuple):
            code, message = payload
            data = json.dumps({"message": message}).encode()
            handler.send_response(status)
            handler.send_header("x-amzn-ErrorType", code)
        else:
            data = json.dumps(payload).encode()
            handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _start(self, body: dict):
        with self._lock:
            self.starts.append(body)
            if self.start_errors:
                status, code, message = self.start_errors.pop(0)
                return status, (code, message)
            token = body.get("clientRequestToken") or uuid.uuid4().hex
            for job in self.jobs.values():
                if job.token == token:  # idempotent, as AWS documents
                    return 200, {"invocationArn": job.arn}
            arn = f"arn:aws:bedrock:{self.region}:{ACCOUNT}:async-invoke/{uuid.uuid4().hex[:12]}"
            self.jobs[arn] = FakeJob(
                arn=arn,
                model_id=body["modelId"],
                token=token,
                body=body,
                output_uri=body["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"],
                submitted=datetime.now(UTC),
            )
        if self.start_delay_seconds:
            time.sleep(self.start_delay_seconds)
        return 200, {"invocationArn": arn}

    def _converse(self, body: dict):
        """Answer a Converse call with the next of ``scripts``: as structured-output text
        when the request asks for it, as the forced tool's input otherwise."""
        with self._lock:
            self.converses.append(body)
            answer = self.scripts.pop(0) if self.scripts else (500, "InternalServerException",
                                                               "no script scripted")  # fmt: skip
        if self.converse_delay_seconds:
            time.sleep(self.converse_delay_seconds)
        if isinstance(answer, tuple):
            status, code, message = answer
            return status, (code, message)
        if "toolConfig" in body:
            tool = body["toolConfig"]["toolChoice"]["tool"]["name"]
            call = {"toolUseId": "tooluse_fake", "name": tool, "input": answer}
            content, stop = [{"toolUse": call}], "tool_use"
        else:
            content, stop = [{"text": json.dumps(answer)}], "end_turn"
        return 200, {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop,
            "usage": {"inputTokens": 2400, "outputTokens": 1100, "totalTokens": 3500},
            "metrics": {"latencyMs": int(self.converse_delay_seconds * 1000)},
        }

    def _summary(self, job: FakeJob) -> dict:
        summary = {
            "invocationArn": job.arn,
            "modelArn": f"arn:aws:bedrock:{self.region}::foundation-model/{job.model_id}",
            "clientRequestToken": job.token,
            "status": job.status,
            "submitTime": job.submitted.isoformat(),
            "lastModifiedTime": datetime.now(UTC).isoformat(),
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": job.output_uri}},
        }
        if job.failure_message:
            summary["failureMessage"] = job.failure_message
        return summary

    def _get(self, arn: str):
        with self._lock:
            if self.record_poll_times:
                self.poll_times.setdefault(arn, []).append(time.monotonic())
            if self.get_errors:
                status, code, message = self.get_errors.pop(0)
                return status, (code, message)
            job = self.jobs.get(arn)
            if job is None:
                return 400, ("ValidationException", f"Invocation {arn} not found")
            job.polls += 1
            if job.status == "InProgress" and job.polls > self.in_progress_polls:
                self._finish(job)
            if job.status == "Completed":
                late = job.polls - self.in_progress_polls - 1
                if late == self.outcome.output_late_polls:
                    self._write(job, "output.mp4", self.output_video)
            return 200, self._summary(job)

    def _finish(self, job: FakeJob) -> None:
        job.status = self.outcome.status
        job.failure_message = self.outcome.failure_message
        self._write(job, "manifest.json", json.dumps({"schemaVersion": "1.0"}).encode())
        if self.outcome.status_document is not None:
            document = json.dumps(self.outcome.status_document).encode()
            self._write(job, "video-generation-status.json", document)

    def _write(self, job: FakeJob, name: str, data: bytes) -> None:
        bucket, _, prefix = job.output_uri[len("s3://") :].partition("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        key = f"{prefix}{job.arn.rsplit('/', 1)[-1]}/{name}"
        self._s3.put_object(Bucket=bucket, Key=key, Body=data)

    def _list(self, query: dict):
        after = query.get("submitTimeAfter", [None])[0]
        with self._lock:
            jobs = list(self.jobs.values())
        if after:
            since = datetime.fromisoformat(after.replace("Z", "+00:00"))
            jobs = [job for job in jobs if job.submitted >= since]
        return 200, {"asyncInvokeSummaries": [self._summary(job) for job in jobs]}

    def _model(self, model_id: str):
        lifecycle = self.models.get(model_id, {"status": "ACTIVE"})
        if isinstance(lifecycle, tuple):
            status, code, message = lifecycle
            return status, (code, message)
        return 200, {
            "modelDetails": {
                "modelArn": f"arn:aws:bedrock:{self.region}::foundation-model/{model_id}",
                "modelId": model_id,
                "modelName": model_id,
                "providerName": "Amazon" if model_id.startswith("amazon") else "Luma AI",
                "modelLifecycle": lifecycle,
            }
        }

    # --- what tests read ---------------------------------------------------------------------
    def poll_gaps(self) -> dict:
        """Per invocation, the longest time between two of its status calls, in seconds,
        and how many it had (``record_poll_times`` must be on)."""
        with self._lock:
            times = {arn: list(stamps) for arn, stamps in self.poll_times.items()}
        return {
            arn: {
                "polls": len(stamps),
                "max_gap": max(
                    (b - a for a, b in zip(stamps, stamps[1:], strict=False)), default=0
                ),
            }
            for arn, stamps in times.items()
        }

    def start_count(self) -> int:
        with self._lock:
            return len(self.starts)
