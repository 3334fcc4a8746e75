"""Benchmark: render a 6 s 1280×720 animatic from the fixture photos, side by side with a plain
ffmpeg encode of the same 144 frames (same encoder settings, frames piped from memory).

Prints wall time, the realtime factor (seconds of video per second of rendering) and the ratio
to the plain encode. Targets (issue 2): at least 3× realtime on a 2-core machine, and within
2× of the plain encode. Run: .venv/bin/python bench/render_animatic.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamsite.settings")

import django  # noqa: E402

django.setup()

import imageio_ffmpeg  # noqa: E402
from django.conf import settings  # noqa: E402
from PIL import Image  # noqa: E402

from generation.animatic import AnimaticBackend  # noqa: E402
from generation.animatic_render import AnimaticRenderer  # noqa: E402
from generation.video import ClipRequest  # noqa: E402

PHOTOS = ROOT.parent / "shared" / "fixtures" / "images"
NAMES = ("astronaut.png", "chelsea.png", "rocket.jpg")
PROMPT = "Eileen drifts through the space station, waving at the cat as the rocket lifts off"
SECONDS, FPS, WIDTH, HEIGHT = 6.0, 24, 1280, 720


def render_animatic(folder: Path) -> float:
    request = ClipRequest(prompt=PROMPT, reference_images=[PHOTOS / name for name in NAMES], seed=1)
    started = time.perf_counter()
    AnimaticBackend().render(request, workdir=folder, progress=lambda stage, fraction: None)
    return time.perf_counter() - started


def plain_encode(frames: list[bytes], output: Path) -> float:
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS),
        "-i", "-", "-c:v", "libx264", "-preset", settings.ANIMATIC_X264_PRESET,
        "-threads", "2", "-crf", "20", "-movflags", "+faststart", "-pix_fmt", "yuv420p",
        str(output),
    ]  # fmt: skip
    started = time.perf_counter()
    encoder = subprocess.Popen(command, stdin=subprocess.PIPE)
    for frame in frames:
        encoder.stdin.write(frame)
    encoder.stdin.close()
    encoder.wait()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs

    images = [Image.open(PHOTOS / name).convert("RGB") for name in NAMES]
    renderer = AnimaticRenderer(images=images, prompt=PROMPT, seed=1)
    total = round(SECONDS * FPS)
    frames = [renderer.frame(index / FPS).tobytes() for index in range(total)]

    animatic, plain = [], []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(runs + 1):
            workdir = Path(folder) / f"run-{run}"
            workdir.mkdir()
            rendered = render_animatic(workdir)
            encoded = plain_encode(frames, workdir / "plain.mp4")
            if run:  # the first pair warms caches and OpenCV's thread pool
                animatic.append(rendered)
                plain.append(encoded)

    render_s, plain_s = statistics.median(animatic), statistics.median(plain)
    print(f"machine: {os.cpu_count()} cores; x264 preset {settings.ANIMATIC_X264_PRESET}")
    print(
        f"clip: {SECONDS:.0f} s, {WIDTH}x{HEIGHT}, {FPS} fps, {total} frames, {len(NAMES)} photos"
    )
    print(f"runs: {runs} (median; min..max)")
    print(
        f"animatic render : {render_s:6.3f} s  ({min(animatic):.3f}..{max(animatic):.3f})  "
        f"realtime factor {SECONDS / render_s:5.2f}x   (target >= 3x)"
    )
    print(
        f"plain ffmpeg    : {plain_s:6.3f} s  ({min(plain):.3f}..{max(plain):.3f})  "
        f"realtime factor {SECONDS / plain_s:5.2f}x"
    )
    print(f"animatic / plain: {render_s / plain_s:5.2f}   (target <= 2)")


if __name__ == "__main__":
    main()
