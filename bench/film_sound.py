"""Benchmark: how a five-scene film sounds, the way a viewer hears it. A new film (the offline
writer, espeak-ng or Piper, the genre's music, the animatic) goes through the real services
and actors in a scratch embedded site; then, measured on the finished MP4:

- the share of the film with speech (the subtitle cues' spans, which are timed from the
  speech itself), against the whole length;
- the loudness (EBU R128 integrated, ffmpeg's ``ebur128``) of the stretches with speech and
  of those with music alone (gaps of at least 1 s between cues), and their difference in LU.

A film that is mostly music at -32 LUFS against speech at -15 reads as silence between lines
(issue: "a narrated slideshow that feels empty"); a music bed sits about 6-12 LU under speech.

Run: .venv/bin/python bench/film_sound.py [--voice piper-joe] [--seconds 60] [--scenes 5]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from films.script import create_film

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PHOTOS = ROOT.parent / "shared" / "fixtures" / "images"

from scratch import scratch_site  # noqa: E402


def loudness(ffmpeg: str, film: Path, spans: list[tuple[float, float]]) -> float | None:
    """Integrated loudness (LUFS) of ``film``'s sound over ``spans`` (seconds), joined."""
    spans = [(a, b) for a, b in spans if b - a > 0.05]
    if not spans:
        return None
    parts = [f"[0:a]atrim={a:.3f}:{b:.3f},asetpts=N/SR/TB[p{i}]" for i, (a, b) in enumerate(spans)]
    joined = "".join(f"[p{i}]" for i in range(len(spans)))
    graph = ";".join(parts) + f";{joined}concat=n={len(spans)}:v=0:a=1,ebur128=framelog=quiet[out]"
    log = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-i", str(film), "-filter_complex", graph,
         "-map", "[out]", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    found = re.findall(r"I:\s+(-?[\d.]+|-inf) LUFS", log)
    return None if not found or found[-1] == "-inf" else float(found[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voice", default="espeak-en-us")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--scenes", type=int, default=5)
    options = parser.parse_args()
    scratch_site("film-sound-")
    import dramatiq
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from characters.services import create_character
    from films import services
    from generation.assembly import ffmpeg_exe

    user = get_user_model().objects.create_user("sound-check@example.com")
    cast = [
        create_character(
            owner=user,
            name=name,
            description="From the fixture photos.",
            uploads=[
                SimpleUploadedFile(p, (PHOTOS / p).read_bytes(), content_type="image/png")
                for p in photos
            ],
        )  # fmt: skip
        for name, photos in (("Eileen", ("astronaut.png",)), ("Chelsea", ("chelsea.png",)))
    ]
    broker = dramatiq.get_broker()
    worker = dramatiq.Worker(broker, worker_threads=2)
    worker.start()
    started = time.monotonic()
    film = create_film(
        owner=user, idea="A test pilot and her cat follow a map to a lost harbour.",
        genre="adventure", style="natural", cast=cast, voice=options.voice, backend="animatic",
        target_seconds=options.seconds, scene_count=options.scenes, seed=7,
    )  # fmt: skip
    for queue in list(broker.queues):
        broker.join(queue)
    worker.join()
    services.render_film(film=film)
    while True:
        for queue in list(broker.queues):
            broker.join(queue)
        worker.join()
        film.refresh_from_db()
        if not film.is_active:
            break
    worker.stop()
    if film.status != "succeeded":
        sys.exit(f"The film did not render: {film.error}")
    video = Path(film.video.path)
    length = film.duration_seconds or 0.0
    vtt = Path(film.subtitles_vtt.path).read_text()
    cues = [
        (_seconds(a), _seconds(b))
        for a, b in re.findall(r"^(\d+:\d+:[\d.]+) --> (\d+:\d+:[\d.]+)", vtt, re.MULTILINE)
    ]
    speech = sum(b - a for a, b in cues)
    edges = [0.0, *[t for cue in cues for t in cue], length]
    quiet = [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= 1.0]
    ffmpeg = ffmpeg_exe()
    spoken_lufs, music_lufs = loudness(ffmpeg, video, cues), loudness(ffmpeg, video, quiet)
    print(f"five-scene film ({options.voice}, {options.scenes} scenes, asked {options.seconds} s):"
          f" {length:.1f} s, rendered in {time.monotonic() - started:.0f} s")  # fmt: skip
    print(f"  speech: {speech:.1f} s of {length:.1f} s = {100 * speech / length:.0f} % of the film")
    print(f"  music alone: {sum(b - a for a, b in quiet):.1f} s in {len(quiet)} stretches")
    print(f"  loudness with speech: {spoken_lufs} LUFS; music alone: {music_lufs} LUFS", end="")
    if spoken_lufs is not None and music_lufs is not None:
        print(f" ({spoken_lufs - music_lufs:.1f} LU under the speech)")
    else:
        print()


def _seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


if __name__ == "__main__":
    main()
