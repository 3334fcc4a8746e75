"""Helpers for tests: the real fixture photos, uploads, waiting, and probing MP4 files."""

from __future__ import annotations

import asyncio
import io
import re
import struct
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import imageio_ffmpeg
from django.core.files.uploadedfile import SimpleUploadedFile

PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "images"
PASSWORD = "correct horse battery staple 42"

#: The least a production process needs (DEBUG off); see the README's "Running in production".
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "test-only-3c6f1d0b9a2e4f7c8d5b1a0e9f2c4d6b8a1e3f5c7d9b0a2c4e6f8",
    "ALLOWED_HOSTS": "dreams.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://dreams.example.com",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
}


def stored_files(folder: str = "") -> list[PurePosixPath]:
    """The name of every file in media storage (a folder on disk, or an S3 bucket in the
    services pass), sorted; through the storage API, as the app sees them."""
    from django.core.files.storage import default_storage

    folders, files = default_storage.listdir(folder)
    names = [PurePosixPath(folder, name) for name in files]
    for child in folders:
        names += stored_files(f"{folder}/{child}" if folder else child)
    return sorted(names)


def served_media(response) -> tuple[str, bytes]:
    """The content type and bytes a browser gets from a media view's ``response``: streamed by
    the portal from local disk, or, on S3, from the presigned URL it redirects to (moto's
    server, real HTTP)."""
    if response.status_code == 302:
        with urllib.request.urlopen(response["Location"], timeout=10) as fetched:
            return fetched.headers["Content-Type"], fetched.read()
    assert response.status_code == 200, response.status_code
    return response["Content-Type"], b"".join(response)


def stored_bytes(field_file) -> bytes:
    """The content of a stored file (an ``ImageField``'s or ``FileField``'s value)."""
    with field_file.storage.open(field_file.name, "rb") as handle:
        return handle.read()


def photo_path(name: str) -> Path:
    return PHOTOS / name


def photo_upload(name: str = "astronaut.png", *, as_name: str | None = None) -> SimpleUploadedFile:
    """A real fixture photograph as a browser would upload it."""
    data = photo_path(name).read_bytes()
    content_type = "image/jpeg" if name.endswith(".jpg") else "image/png"
    return SimpleUploadedFile(as_name or name, data, content_type=content_type)


def bytes_upload(name: str, data: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def _is_stub(broker) -> bool:
    return type(broker).__name__ == "StubBroker"


def queue_size(broker, queue: str) -> int:
    """Messages waiting, delayed or being processed on ``queue``, on any of our brokers."""
    if _is_stub(broker):
        found = broker.queues.get(queue)
        delayed = broker.queues.get(f"{queue}.DQ")
        return sum(q.unfinished_tasks for q in (found, delayed) if q is not None)
    if type(broker).__name__ == "RedisBroker":
        # A message's body stays in its queue's hash until it is acknowledged: waiting,
        # delayed or taken by a consumer. (Dramatiq's own qsize adds the taken ones' ids to
        # that, counting a message a paused worker's consumer had already fetched twice.)
        names = (f"{broker.namespace}:{queue}.msgs", f"{broker.namespace}:{queue}.DQ.msgs")
        return sum(int(broker.client.hlen(name)) for name in names)
    queued, delayed, _ = broker.get_queue_message_counts(queue)
    return queued + delayed


def pending_messages(broker) -> int:
    """Messages not yet finished on every declared queue of ``broker``."""
    queues = {name.removesuffix(".DQ").removesuffix(".XQ") for name in broker.get_declared_queues()}
    return sum(queue_size(broker, name) for name in queues)


def take_message(broker, queue: str):
    """Take the next message off ``queue`` as a worker would, and acknowledge it: the test then
    plays that worker (for instance one that dies after sending a request)."""
    consumer = broker.consume(queue, prefetch=1, timeout=1000)
    try:
        for _ in range(50):
            message = next(consumer)
            if message is not None:
                consumer.ack(message)
                return message
    finally:
        consumer.close()
    raise AssertionError(f"No message arrived on {queue!r}.")


def start_worker(broker):
    """A real Dramatiq worker running the project's actors in this process (two threads);
    end it with ``stop_worker``."""
    import dramatiq

    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    return worker


def stop_worker(worker) -> None:
    """Stop a test's Dramatiq worker and take its hook off the broker, which the whole session
    shares. ``Worker.stop`` leaves the hook there, so every queue declared later would start
    consumers for a stopped worker, and messages would sit in its memory with nobody to run
    them."""
    worker.stop()
    worker.broker.middleware[:] = [
        hook for hook in worker.broker.middleware if getattr(hook, "worker", None) is not worker
    ]
    if _is_stub(worker.broker):
        _forget_in_flight(worker.broker)


def _forget_in_flight(broker) -> None:
    """Make the stub broker's queues count only the messages they still hold.

    A worker that stops while it holds messages (a delayed poll waiting in its memory, a
    message taken but not yet run) hands them to ``consumer.requeue``, which the stub broker
    does not implement: they are dropped without ``task_done``. Their queue then counts them
    as unfinished for ever, and the next test's ``join`` on it hangs; this was the hang seen
    in ``test_dream_jobs`` after the cloud tests. Real brokers put such messages back."""
    for queue in broker.queues.values():
        with queue.all_tasks_done:
            queue.unfinished_tasks = len(queue.queue)
            queue.all_tasks_done.notify_all()


def run_jobs(broker, worker, timeout: float = 120.0) -> None:
    """Wait until every queued message (including retries) has been processed."""
    if _is_stub(broker):
        for queue in list(broker.queues):
            broker.join(queue, fail_fast=True)
        worker.join()
        return
    run_until_idle(broker, worker, timeout=timeout)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.02):
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout} s waiting for {predicate}")


@dataclass
class VideoProbe:
    codec: str
    profile: str
    pixel_format: str
    width: int
    height: int
    fps: float
    duration: float
    frames: int
    top_level_boxes: list[str]


def top_level_boxes(data: bytes) -> list[str]:
    """The ISO-BMFF (MP4) top-level box types in file order."""
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def probe_video(path_or_bytes) -> VideoProbe:
    """What ffprobe would say, read from imageio-ffmpeg's ffmpeg (which ships no ffprobe)."""
    if isinstance(path_or_bytes, bytes):
        with tempfile.NamedTemporaryFile(suffix=".mp4", delete=False) as handle:
            handle.write(path_or_bytes)
        path = Path(handle.name)
    else:
        path = Path(path_or_bytes)
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    result = subprocess.run(
        [ffmpeg, "-hide_banner", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    log = result.stderr
    stream = re.search(
        r"Video: (\w+) \((\w[\w ]*)\)[^,]*, (\w+)[^,]*(?:\([^)]*\))?, (\d+)x(\d+).*?, ([\d.]+) fps",
        log,
    )
    assert stream, log
    hours, minutes, seconds = re.search(r"Duration: (\d+):(\d+):([\d.]+)", log).groups()
    frames = int(re.findall(r"frame=\s*(\d+)", log)[-1])
    return VideoProbe(
        codec=stream.group(1),
        profile=stream.group(2),
        pixel_format=stream.group(3),
        width=int(stream.group(4)),
        height=int(stream.group(5)),
        fps=float(stream.group(6)),
        duration=int(hours) * 3600 + int(minutes) * 60 + float(seconds),
        frames=frames,
        top_level_boxes=top_level_boxes(path.read_bytes()),
    )


def x264_options(path) -> dict[str, str]:
    """The settings x264 wrote into the video at ``path`` (its SEI: "crf=20.0 threads=2 ...")."""
    data = Path(path).read_bytes()
    start = data.index(b"options: ") + len(b"options: ")
    text = data[start : data.index(b"\x00", start)].decode()
    return dict(option.split("=", 1) for option in text.split() if "=" in option)


def png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _worker_busy(worker) -> bool:
    """Whether ``worker`` holds a message: running, waiting in its work queue, or delayed."""
    return bool(
        worker.work_queue.unfinished_tasks
        or any(consumer.delay_queue.unfinished_tasks for consumer in worker.consumers.values())
    )


def run_until_idle(broker, worker, timeout: float = 60.0) -> None:
    """Process messages, delayed ones included, until neither the broker nor the worker holds
    anything for a moment: cloud jobs keep scheduling their next poll until they finish.

    A real broker reports its counts with a lag (RabbitMQ does not count messages a consumer
    holds), so quiet must last a full second there, and the worker's own queues count too.
    """
    quiet_for = 0.3 if _is_stub(broker) else 1.0
    deadline = time.monotonic() + timeout
    idle_since = None
    while time.monotonic() < deadline:
        if pending_messages(broker) == 0 and not _worker_busy(worker):
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > quiet_for:
                worker.join()
                if pending_messages(broker) == 0 and not _worker_busy(worker):
                    return
                idle_since = None
        else:
            idle_since = None
        time.sleep(0.02)
    raise AssertionError("Jobs were still running after the timeout.")


def wait_for_page(page, expression: str, timeout: float = 30_000) -> None:
    """Poll the JavaScript ``expression`` in ``page`` until it is truthy (``timeout`` in ms).

    Playwright's ``wait_for_function`` compiles its expression inside the page, which the
    portal's content security policy forbids (no eval), as it should; ``evaluate`` runs through
    the DevTools protocol instead.
    """
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} ms waiting for {expression}")
        time.sleep(0.05)


class Events:
    """Every event published to ``user``'s group while the test runs (the websocket's feed)."""

    def __init__(self, user) -> None:
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        from jobs.events import user_group

        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        self.received: list[dict] = []
        async_to_sync(self.layer.group_add)(user_group(user.pk), self.channel)

    def stages(self) -> list[str]:
        """The stages of the job events received so far, in order (each call receives what
        arrived since the last; every event stays in ``received``)."""
        from asgiref.sync import async_to_sync

        async def take() -> list[dict]:
            taken = []
            while True:
                try:
                    taken.append(await asyncio.wait_for(self.layer.receive(self.channel), 0.3))
                except TimeoutError:
                    return taken

        events = [m["event"] for m in async_to_sync(take)() if m["type"] == "job.event"]
        self.received += events
        return [event["stage"] for event in events]

    def stages_of(self, **match) -> list[str]:
        """The stages of the events already received whose fields have ``match``'s values
        (such as ``kind="scene", number=2``), in order. Receives nothing: Redis's channel
        layer receives in one event loop only, so call ``stages`` once first."""
        return [
            event["stage"]
            for event in self.received
            if all(event.get(key) == value for key, value in match.items())
        ]


def _mp4_boxes(data: bytes, start: int, end: int):
    """(type, content start, end) of each MP4 box between ``start`` and ``end``."""
    import struct

    position = start
    while position + 8 <= end:
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[position + 8 : position + 16])[0], 16
        elif size == 0:
            size = end - position
        yield kind.decode("latin1"), position + header, position + size
        position += size


def _mp4_box(data: bytes, span: tuple[int, int], *path: str):
    for name in path:
        span = next(((s, e) for k, s, e in _mp4_boxes(data, *span) if k == name), None)
        if span is None:
            return None
    return span


def mp4_chapters(path) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """An MP4's two chapter lists, read from its boxes as players read them: the QuickTime
    chapter track (the text track a ``tref/chap`` box names: Apple's players, Chromium's
    media tools) and Nero's ``udta/chpl`` list (VLC, mpv), each as (start seconds, title)."""
    import struct

    data = Path(path).read_bytes()
    moov = _mp4_box(data, (0, len(data)), "moov")
    tracks, chapter_ids = {}, []
    for kind, start, end in _mp4_boxes(data, *moov):
        if kind != "trak":
            continue
        tkhd = _mp4_box(data, (start, end), "tkhd")
        offset = 12 if data[tkhd[0]] == 0 else 20
        tracks[struct.unpack(">I", data[tkhd[0] + offset : tkhd[0] + offset + 4])[0]] = (start, end)
        chap = _mp4_box(data, (start, end), "tref", "chap")
        if chap:
            chapter_ids += struct.unpack(f">{(chap[1] - chap[0]) // 4}I", data[chap[0] : chap[1]])
    quicktime = []
    # Every other track refers to the one chapter track.
    for track_id in dict.fromkeys(chapter_ids):
        if track_id not in tracks:
            continue  # a reference to a track that was never written
        span = tracks[track_id]
        mdhd = _mp4_box(data, span, "mdia", "mdhd")
        offset = 12 if data[mdhd[0]] == 0 else 20
        scale = struct.unpack(">I", data[mdhd[0] + offset : mdhd[0] + offset + 4])[0]
        stbl = _mp4_box(data, span, "mdia", "minf", "stbl")
        stts = _mp4_box(data, stbl, "stts")
        deltas = []
        for i in range(struct.unpack(">I", data[stts[0] + 4 : stts[0] + 8])[0]):
            count, delta = struct.unpack(">II", data[stts[0] + 8 + 8 * i : stts[0] + 16 + 8 * i])
            deltas += [delta] * count
        stsz = _mp4_box(data, stbl, "stsz")
        size, count = struct.unpack(">II", data[stsz[0] + 4 : stsz[0] + 12])
        sizes = (
            [size] * count
            if size
            else list(struct.unpack(f">{count}I", data[stsz[0] + 12 : stsz[0] + 12 + 4 * count]))
        )
        stco = _mp4_box(data, stbl, "stco")
        chunks = struct.unpack(
            f">{struct.unpack('>I', data[stco[0] + 4 : stco[0] + 8])[0]}I",
            data[stco[0] + 8 : stco[1]],
        )
        stsc = _mp4_box(data, stbl, "stsc")
        runs = [
            struct.unpack(">III", data[stsc[0] + 8 + 12 * i : stsc[0] + 20 + 12 * i])
            for i in range(struct.unpack(">I", data[stsc[0] + 4 : stsc[0] + 8])[0])
        ]
        offsets = []
        for number, chunk in enumerate(chunks, start=1):
            per_chunk = next(run[1] for run in reversed(runs) if run[0] <= number)
            for _ in range(per_chunk):
                if len(offsets) < len(sizes):
                    offsets.append(chunk)
                    chunk += sizes[len(offsets) - 1]
        clock = 0
        for at, delta in zip(offsets, deltas, strict=False):
            length = struct.unpack(">H", data[at : at + 2])[0]
            quicktime.append((round(clock / scale, 3), data[at + 2 : at + 2 + length].decode()))
            clock += delta
    nero = []
    chpl = _mp4_box(data, (0, len(data)), "moov", "udta", "chpl")
    if chpl is not None:
        position = chpl[0] + 8  # version and flags, four reserved bytes
        count = data[position]
        position += 1
        for _ in range(count):
            start = struct.unpack(">Q", data[position : position + 8])[0]
            length = data[position + 8]
            nero.append(
                (round(start / 1e7, 3), data[position + 9 : position + 9 + length].decode())
            )
            position += 9 + length
    return quicktime, nero
