"""One dream end to end on this machine's GPU, as a user makes it: a character from two
photographs, a dream on a local GPU backend, the ``gpu`` queue's actor renders it through the
worker's code; every progress event that the user's websocket carries is printed with the
seconds since the dream was made. A check of a GPU machine's set-up (docs/gpu.md).

It runs on the embedded default in a folder of its own (a new SQLite database, the
in-process broker, channel layer and worker), so it touches no running site. The weights come
from ``WAN_WEIGHTS`` / ``LTX_WEIGHTS``: real ones, or the random ones that
``bench/gpu_clip.py --keep`` saves.

Run: WAN_WEIGHTS=/path .venv/bin/python bench/gpu_dream.py [--backend wan-flf2v]
     [--photos first.png second.png] [--device cuda] [--draw (with KEYFRAME_WEIGHTS=/path)]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PHOTOS = ROOT.parent / "shared" / "fixtures" / "images"

from scratch import scratch_site  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="wan-flf2v")
    parser.add_argument(
        "--photos", nargs="+", type=Path,
        default=[PHOTOS / "astronaut.png", PHOTOS / "chelsea.png"],
    )  # fmt: skip
    parser.add_argument("--device", default="")
    parser.add_argument(
        "--draw", action="store_true", help="open on a frame drawn by KEYFRAME_WEIGHTS' model"
    )
    options = parser.parse_args()
    extra = {"CLIP_BACKENDS": options.backend}
    if options.device:
        extra["GPU_DEVICE"] = options.device
    scratch_site("gpu-dream-", **extra)
    import dramatiq
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from characters.services import create_character
    from dreams import services
    from generation.registry import offered_backends
    from jobs.events import user_group

    offered = [b.name for b in offered_backends()]
    if options.backend not in offered:
        sys.exit(f"{options.backend} is not offered here (offered: {offered}); see the model "
                 "status page's reasons in docs/gpu.md.")  # fmt: skip
    user = get_user_model().objects.create_user("gpu-check@example.com")
    uploads = [
        SimpleUploadedFile(p.name, p.read_bytes(), content_type="image/png") for p in options.photos
    ]
    character = create_character(
        owner=user, name="Eileen", description="A test pilot.", uploads=uploads
    )
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(user.pk), channel)
    worker = dramatiq.Worker(dramatiq.get_broker(), worker_threads=1)
    worker.start()

    started = time.monotonic()
    dream = services.create_dream(
        owner=user, character=character, prompt="Eileen floats through the space station",
        backend=options.backend, seed=1, draw_first_frame=options.draw,
    )  # fmt: skip
    print(f"dream {dream.pk} on {options.backend}, photos {[p.name for p in options.photos]}")
    done = threading.Event()

    def finish() -> None:
        dramatiq.get_broker().join("gpu")
        worker.join()
        done.set()

    threading.Thread(target=finish, daemon=True).start()

    async def follow() -> None:
        last = None
        while not done.is_set():
            try:
                message = await asyncio.wait_for(layer.receive(channel), 0.5)
            except TimeoutError:
                continue
            event = message.get("event", {})
            line = (event.get("status"), event.get("stage"), event.get("percent"))
            if line != last:  # the heartbeat repeats a stage: print each change once
                seconds = time.monotonic() - started
                print(f"{seconds:8.1f} s  {line[0]:<12} {line[2]:>3}%  {line[1]}")
                last = line

    async_to_sync(follow)()
    worker.stop()
    dream.refresh_from_db()
    print(f"\n{dream.status} after {time.monotonic() - started:.1f} s; error: {dream.error or '-'}")
    if dream.video:
        print(f"video {dream.video.name}: {dream.duration_seconds:.2f} s, {dream.video.size} bytes")
    sys.exit(0 if dream.video else 1)


if __name__ == "__main__":
    main()
