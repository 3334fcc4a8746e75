"""Benchmark: how many in-flight Bedrock invocations one worker process tracks.

One Dramatiq worker process with 8 threads polls N invocations that stay ``InProgress`` at a
fake Bedrock (tests/fake_bedrock.py, real HTTP, run in its own process so it does not share
this one's GIL). Each poll is the real ``poll_invocation`` actor: load the rows, one
GetAsyncInvoke, write the estimated progress, publish it, schedule the next poll as a delayed
message. Target (issue 3): at least 1,000 invocations, each polled at least every 15 s.
It prints the longest gap between two polls of one invocation (p50, p99, max), the polls per
second, and the process's memory.
Run: .venv/bin/python bench/cloud_polling.py [--invocations 1000] [--seconds 90]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve_fake(port_queue) -> None:
    """Run the fake Bedrock in this (child) process until it is terminated."""
    from tests.fake_bedrock import FakeBedrock

    fake = FakeBedrock(s3_endpoint="http://127.0.0.1:9", in_progress_polls=10**9)
    fake.record_poll_times = True
    fake.start()
    port_queue.put(fake.url)
    while True:
        time.sleep(3600)


def memory_mib() -> tuple[float, float]:
    """(current, peak) resident memory of this process, in MiB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invocations", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--interval", type=float, default=12.0, help="poll delay, seconds")
    parser.add_argument("--seconds", type=float, default=90.0, help="measured run, seconds")
    args = parser.parse_args()

    ports = multiprocessing.Queue()
    fake_process = multiprocessing.Process(target=serve_fake, args=(ports,), daemon=True)
    fake_process.start()
    fake_url = ports.get(timeout=30)

    workdir = Path(tempfile.mkdtemp(prefix="bench-cloud-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="dreamsite.settings",
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3"),
        MEDIA_ROOT=str(workdir / "media"),
        EMBEDDED_WORKERS="false",
        NOVA_REEL_OUTPUT_S3_URI="s3://bench-output/nova-reel/",
        BEDROCK_ENDPOINT_URL=fake_url,
        BEDROCK_CONTROL_ENDPOINT_URL=fake_url,
        BEDROCK_POLL_SECONDS=str(args.interval),
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_EC2_METADATA_DISABLED="true",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    import dramatiq
    from django.core.management import call_command

    from dreams.models import Dream, DreamStatus
    from generation.nova_reel import NovaReelBackend
    from jobs import tasks
    from jobs.models import Invocation, InvocationStatus

    call_command("migrate", verbosity=0)
    from accounts.models import User

    owner = User.objects.create_user(email="bench@example.com", password="bench password 1")
    backend = NovaReelBackend()
    from generation import aws

    runtime = aws.client("bedrock-runtime", backend.region)
    invocation_ids = []
    for number in range(args.invocations):
        dream = Dream.objects.create(
            owner=owner,
            character_name="Bench",
            prompt=f"bench dream {number}",
            backend="nova-reel",
            seed=number,
            status=DreamStatus.RUNNING,
            stage="generating",
        )
        token = f"bench-{number}"
        arn = runtime.start_async_invoke(
            modelId=backend.model_id,
            modelInput={"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": "x"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": backend.output_s3_uri}},
            clientRequestToken=token,
        )["invocationArn"]
        invocation = Invocation.objects.create(
            owner=owner,
            job=dream,
            backend="nova-reel",
            model_id=backend.model_id,
            region=backend.region,
            client_token=token,
            arn=arn,
            status=InvocationStatus.IN_PROGRESS,
            video_seconds=6,
            estimated_cost_usd="0.48",
        )
        invocation_ids.append(invocation.id)

    broker = dramatiq.get_broker()
    before_mib = memory_mib()[0]
    worker = dramatiq.Worker(broker, worker_threads=args.threads)
    worker.start()
    # Spread the first polls over one interval, as jobs started at different times would be.
    for index, invocation_id in enumerate(invocation_ids):
        delay_ms = int(args.interval * 1000 * index / len(invocation_ids))
        tasks.poll_invocation.send_with_options(args=(invocation_id,), delay=delay_ms)
    started = time.monotonic()
    time.sleep(args.seconds)
    elapsed = time.monotonic() - started
    current_mib, peak_mib = memory_mib()
    worker.stop(timeout=1000)

    with urllib.request.urlopen(f"{fake_url}/__poll-gaps") as response:
        gaps = json.load(response)
    fake_process.terminate()
    max_gaps = sorted(entry["max_gap"] for entry in gaps.values())
    polls = sum(entry["polls"] for entry in gaps.values())
    tracked = len(gaps)
    within = sum(1 for gap in max_gaps if gap <= 15.0)
    p99 = max_gaps[int(0.99 * (len(max_gaps) - 1))] if max_gaps else 0.0
    print(f"invocations in flight: {args.invocations}, worker threads: {args.threads}")
    print(f"poll delay setting: {args.interval:.0f} s, measured for {elapsed:.0f} s")
    print(f"invocations polled: {tracked}, polls: {polls} ({polls / elapsed:.1f} per second)")
    print(
        "longest gap between two polls of one invocation: "
        f"p50 {statistics.median(max_gaps):.2f} s, p99 {p99:.2f} s, max {max_gaps[-1]:.2f} s"
    )
    print(f"invocations never left more than 15 s: {within} of {tracked}")
    print(
        f"memory: {before_mib:.0f} MiB before the worker, {current_mib:.0f} MiB at the end, "
        f"peak {peak_mib:.0f} MiB ({(current_mib - before_mib) * 1024 / args.invocations:.1f} KiB "
        "per invocation while polling)"
    )


if __name__ == "__main__":
    main()
