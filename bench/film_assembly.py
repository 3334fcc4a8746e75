"""Benchmark: a film's assembly (generation/assembly.py) side by side with the alternatives, in
one run on one machine, and a five-scene film's stages end to end.

1. Ten 6 s 1280×720 scenes with crossfades, narration and ducked music: ours (bodies encoded
   once, seams only, stream-copy concat, then sound and subtitles) against moviepy doing the
   same (``concatenate_videoclips(method="compose")`` with crossfades, ``CompositeAudioClip``,
   ``write_videofile``; target: ours at least 5× faster), and against ffmpeg's concat with
   stream copy and no transitions (target: ours within 3× of it). Ours is timed twice: every
   piece from nothing, and what is left once the last clip is in (films/pieces.py makes
   the other pieces and the sound while clips render).
2. Re-rendering one scene of ten and reassembling (pieces of unchanged scenes reused) against
   the full build (ten clips and the assembly); target: at most a quarter.
3. A ten-minute film (100 scenes) against a one-minute film (10 scenes): assembly time (should
   grow linearly) and peak memory (this process and the largest ffmpeg child; target under
   400 MB).
4. A five-scene film end to end with the embedded default's offline backends: wall time and each
   stage's share (keyframes, narration, clips, music, assembly), through the same generation
   code the film pipeline calls (without the database and broker, whose share is measured by
   bench/queue_latency.py).

Run: .venv/bin/python bench/film_assembly.py [--skip-moviepy] [--long-scenes 100]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
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

from generation import assembly, sound_mix  # noqa: E402
from generation.animatic import AnimaticBackend  # noqa: E402
from generation.framing import compose_keyframe  # noqa: E402
from generation.music import render_music, write_midi  # noqa: E402
from generation.speech import synthesise  # noqa: E402
from generation.subtitles import shifted, to_srt, within  # noqa: E402
from generation.video import BodyPiece, ClipRequest  # noqa: E402
from generation.voices import find_voice, installed_voices  # noqa: E402

PHOTOS = ROOT.parent / "shared" / "fixtures" / "images"
NAMES = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg")
LINES = (
    "It began at the harbour, in the fog.",
    "Eileen read the map twice.",
    "The cat was not convinced.",
    "Then the lighthouse blinked, once.",
    "They rowed out past the rocks.",
    "Nobody had seen the ship since the storm.",
    "The map was wrong, or the sea had moved.",
    "Chelsea found the bottle first.",
    "Inside, a second map.",
    "And that is how it ended, and how it began.",
)
W, H = 1280, 720


def keyframes(folder: Path, index: int, style: str = "vintage") -> tuple[Path, Path]:
    paths = []
    for which, photo in (("a", NAMES[index % 4]), ("b", NAMES[(index + 1) % 4])):
        image = compose_keyframe(
            [PHOTOS / photo], framing="medium", style=style, width=W, height=H, seed=index
        )
        path = folder / f"key-{index}-{which}.jpg"
        image.save(path, "JPEG", quality=92)
        paths.append(path)
    return paths[0], paths[1]


def render_clip(
    folder: Path, index: int, seconds: float, seed: int, first: Path, last: Path,
    body: BodyPiece | None = None,
):  # fmt: skip
    out = folder / f"clip-{index}-{seed}{'-body' if body else ''}"
    out.mkdir(exist_ok=True)
    request = ClipRequest(
        prompt="scene", seed=seed, duration_seconds=seconds, first_frame=first,
        last_frame=last, scene=True, body=body,
    )  # fmt: skip
    return AnimaticBackend().render(request, workdir=out, progress=lambda stage, fraction: None)


def film_layout(count: int, narrations):
    """Frames, seams and starts of ``count`` 6 s scenes with crossfades, each narration's
    (path, offset in seconds), and the cues on the film's clock."""
    frames = [assembly.scene_frames(6.0)] * count
    seams = [assembly.Seam("crossfade")] * (count - 1)
    starts = assembly.scene_starts(frames, seams)
    offsets = [
        (n.path, starts[i % len(starts)] / assembly.FPS + 0.3) for i, n in enumerate(narrations)
    ]
    cues = [c for i, n in enumerate(narrations[:count]) for c in shifted(n.cues, offsets[i][1])]
    return frames, seams, starts, offsets, cues


def body_with_lines(count: int, narrations, index: int) -> BodyPiece:
    """Scene ``index``'s body with its burnt-in lines, as films/pieces.py asks the
    animatic to make it with the clip."""
    frames, seams, starts, _, cues = film_layout(count, narrations)
    head = seams[index - 1].frames if index else 0
    end = frames[index] - (seams[index].frames if index < len(seams) else 0)
    shown = within(cues, start=(starts[index] + head) / assembly.FPS,
                   end=(starts[index] + end) / assembly.FPS)  # fmt: skip
    return BodyPiece(first=head, end=end, subtitles=to_srt(shown), key=f"body-{index}")


def assemble(
    folder: Path, clips: list[Path], narrations, music: Path | None, *, cache: dict,
    copy: bool = True, burn: bool = False,
):  # fmt: skip
    """Our assembly of ``clips`` (6 s each, crossfades); pieces already in ``cache`` (by clip
    and neighbours) are reused, as the film pipeline reuses stored pieces. With ``copy`` the
    bodies are copied (the animatic's scenes are encoded for it), else encoded (a cloud clip);
    with ``burn`` each piece is encoded with its lines drawn in (burnt-in subtitles), as
    films/pieces.py does."""
    frames, seams, starts, offsets, cues = film_layout(len(clips), narrations)

    def lines(first: int, end: int) -> str:
        if not burn:
            return ""
        return to_srt(within(cues, start=first / assembly.FPS, end=end / assembly.FPS))

    pieces = []
    seam_jobs: list[assembly.SeamJob] = []
    body_jobs: list[assembly.BodyJob] = []
    for i, clip in enumerate(clips):
        head = seams[i - 1].frames if i else 0
        tail = seams[i].frames if i < len(seams) else 0
        key = ("body", clip, head, tail, burn)
        if key not in cache:
            cache[key] = folder / f"body-{len(cache)}.mp4"
            srt = lines(starts[i] + head, starts[i] + frames[i] - tail)
            body_jobs.append(
                assembly.BodyJob(clip, head, frames[i] - tail, cache[key], copy and not srt, srt)
            )
        pieces.append(cache[key])
        if i < len(seams):
            key = ("seam", clip, clips[i + 1], burn)
            if key not in cache:
                cache[key] = folder / f"seam-{len(cache)}.mp4"
                srt = lines(starts[i + 1], starts[i] + frames[i])
                seam_jobs.append(
                    assembly.SeamJob(clip, frames[i], clips[i + 1], seams[i], cache[key], srt)
                )
            pieces.append(cache[key])
    assembly.encode_pieces(body_jobs, seam_jobs, width=W, height=H)
    seconds = starts[-1] / assembly.FPS
    track = folder / "narration.wav"
    # As the film pipeline does, the sound is reused while narrations and timings stay.
    key = ("sound", len(clips), id(narrations), music)
    if key not in cache:
        cache[key] = folder / "sound.m4a"
        sound_mix.narration_track(offsets[: len(clips)], seconds=seconds, out=track)
        sound_mix.mix_audio(narration=track, music=music, seconds=seconds, out=cache[key])
    sound = cache[key]
    srt = folder / "subs.srt"
    srt.write_text(to_srt(cues))
    chapters = folder / "chapters.txt"
    chapters.write_text(
        assembly.chapters_metadata(
            [f"Scene {i + 1}" for i in range(len(clips))], [s / assembly.FPS for s in starts]
        )
    )
    out = folder / "film.mp4"
    assembly.join_and_mux(
        pieces=pieces, audio=sound, subtitles_srt=srt, chapters=chapters, out=out, workdir=folder
    )
    return out


def moviepy_assembly(folder: Path, clips: list[Path], narrations, music: Path) -> Path:
    from moviepy import (
        AudioFileClip,
        CompositeAudioClip,
        VideoFileClip,
        concatenate_videoclips,
        vfx,
    )

    videos = [VideoFileClip(str(c), audio=False) for c in clips]
    faded = [videos[0]] + [
        v.with_effects([vfx.CrossFadeIn(assembly.TRANSITION_SECONDS)]) for v in videos[1:]
    ]
    film = concatenate_videoclips(faded, method="compose", padding=-assembly.TRANSITION_SECONDS)
    step = 6.0 - assembly.TRANSITION_SECONDS
    voices = [
        AudioFileClip(str(n.path)).with_start(i * step + 0.3) for i, n in enumerate(narrations)
    ]
    bed = AudioFileClip(str(music)).with_duration(film.duration).with_volume_scaled(0.15)
    film = film.with_audio(CompositeAudioClip([bed, *voices]).with_duration(film.duration))
    out = folder / "moviepy.mp4"
    film.write_videofile(
        str(out), fps=assembly.FPS, codec="libx264", audio_codec="aac", preset="veryfast",
        ffmpeg_params=["-crf", "20", "-pix_fmt", "yuv420p"], logger=None,
    )  # fmt: skip
    return out


def burn_whole(folder: Path, film: Path, subtitles: Path) -> Path:
    """What the assembly did before pieces were drawn with their lines: the joined film
    re-encoded whole with its subtitles burnt in, after the last clip."""
    out = folder / "burnt-whole.mp4"
    burnt = folder / "burnt-whole.srt"
    burnt.write_text(subtitles.read_text())
    style = "FontName=Noto Sans,FontSize=22,Outline=2,MarginV=60"
    assembly.run_ffmpeg(
        ["-i", str(film), "-vf",
         f"subtitles={burnt}:original_size={W}x{H}:force_style='{style}'",
         *assembly.video_encode(), str(out)],
        step="burning in the subtitles",
    )  # fmt: skip
    return out


def concat_copy(folder: Path, clips: list[Path], sound: Path) -> Path:
    listing = folder / "copy.txt"
    listing.write_text("".join(f"file '{c}'\n" for c in clips))
    out = folder / "copy.mp4"
    subprocess.run(
        [assembly.ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error", "-f", "concat",
         "-safe", "0",
         "-i", str(listing), "-i", str(sound), "-map", "0:v", "-map", "1:a", "-c", "copy",
         "-movflags", "+faststart", str(out)],
        check=True,
    )  # fmt: skip
    return out


def timed(call):
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


def median_of(runs: int, call) -> float:
    """The median of ``runs`` timings of ``call``, in seconds (for the sub-second figures,
    where one stray process on a shared machine moves a single run)."""
    return sorted(timed(call)[0] for _ in range(runs))[runs // 2]


def peak_mb() -> tuple[float, float]:
    """Peak resident memory so far, in MB: this process (VmHWM, which starts afresh at exec,
    unlike ru_maxrss), and the largest child process (an upper bound: a child's ru_maxrss
    starts at its parent's size when it forks)."""
    status = Path("/proc/self/status").read_text()
    own = float(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def long_film(count: int, clips_folder: Path) -> None:
    """Assemble ``count`` scenes from the ten clips under ``clips_folder``; print the time and
    this process's and its largest child's peak memory in MB."""
    voice = find_voice("espeak-en-us") or installed_voices()[0]
    folder = Path(tempfile.mkdtemp(prefix="film-long-", dir=clips_folder))
    clips = sorted(clips_folder.glob("clip-*-*/video.mp4"))[:10]
    long_clips = []
    for i in range(count):
        copy = folder / f"long-{i}.mp4"
        shutil.copy(clips[i % len(clips)], copy)
        long_clips.append(copy)
    narrations = [
        synthesise(LINES[i % 10], voice=voice, path=folder / f"n{i}.wav", workdir=folder)
        for i in range(count)
    ]
    music = folder / "m.wav"
    write_midi(mood="calm", seconds=count * 6, path=folder / "m.mid", seed=2)
    render_music(midi_path=folder / "m.mid", path=music)
    seconds, _ = timed(lambda: assemble(folder, long_clips, narrations, music, cache={}))
    own, largest = peak_mb()
    print(f"{seconds:.2f} {own:.1f} {largest:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-moviepy", action="store_true")
    parser.add_argument("--long-scenes", type=int, default=100)
    parser.add_argument("--only-long", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--clips", type=Path, default=None, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.only_long:
        long_film(options.only_long, options.clips)
        return
    voice = find_voice("espeak-en-us") or installed_voices()[0]
    folder = Path(tempfile.mkdtemp(prefix="film-bench-"))
    try:
        print(f"CPU cores: {os.cpu_count()}; voice: {voice.label}")
        clip_paths: list[Path] = []
        build_clips = 0.0
        for i in range(10):
            first, last = keyframes(folder, i)
            seconds, clip = timed(lambda i=i, a=first, b=last: render_clip(folder, i, 6.0, i, a, b))
            build_clips += seconds
            clip_paths.append(clip.video_path)
        narrations = [
            synthesise(line, voice=voice, path=folder / f"n{i}.wav", workdir=folder)
            for i, line in enumerate(LINES)
        ]
        midi, music = folder / "m.mid", folder / "m.wav"
        write_midi(mood="suspense", seconds=60, path=midi, seed=1)
        render_music(midi_path=midi, path=music)

        cache: dict = {}
        (folder / "ours").mkdir()
        ours, film = timed(
            lambda: assemble(folder / "ours", clip_paths, narrations, music, cache=cache)
        )
        (folder / "encoded").mkdir()
        encoded, _ = timed(
            lambda: assemble(
                folder / "encoded", clip_paths, narrations, music, cache={}, copy=False
            )
        )
        sound = next(path for key, path in cache.items() if key[0] == "sound")
        copy = median_of(3, lambda: concat_copy(folder, clip_paths, sound))
        # The film pipeline makes each piece once its clips exist, and the sound once the
        # narrations fix the scenes' lengths, while later clips still render: once the last
        # clip is in, what is left is its body, its seam and the join.
        last = clip_paths[-1]
        early = {key: path for key, path in cache.items() if key[0] == "sound" or last not in key}
        (folder / "last").mkdir()
        after_last = median_of(
            3,
            lambda: assemble(folder / "last", clip_paths, narrations, music, cache=dict(early)),
        )
        # With burnt-in subtitles every piece with a line in it is encoded. The animatic
        # makes each scene's body with its lines alongside the clip (films/pieces.py's
        # ``body_to_make``), so once the last clip is in only its seam is left to encode.
        burnt_cache: dict = {}
        count = len(clip_paths)
        for i in range(count):
            first, final = keyframes(folder, i)
            made = render_clip(
                folder, i, 6.0, i, first, final, body_with_lines(count, narrations, i)
            )
            head = 12 if i else 0
            tail = 12 if i < count - 1 else 0
            burnt_cache[("body", clip_paths[i], head, tail, True)] = made.body_path
        (folder / "burnt").mkdir()
        burnt, _ = timed(
            lambda: assemble(
                folder / "burnt", clip_paths, narrations, music, cache=burnt_cache, burn=True
            )
        )
        early_burnt = {
            key: path
            for key, path in burnt_cache.items()
            if key[0] in ("sound", "body") or last not in key
        }
        # What making the body alongside costs the last clip's render (median of 3 each).
        first, final = keyframes(folder, count - 1)
        last_body = body_with_lines(count, narrations, count - 1)
        render_plain = median_of(
            3, lambda: render_clip(folder, count - 1, 6.0, count - 1, first, final)
        )
        render_with_body = median_of(
            3, lambda: render_clip(folder, count - 1, 6.0, count - 1, first, final, last_body)
        )
        (folder / "burnt-last").mkdir()
        burnt_after_last = median_of(
            3,
            lambda: assemble(
                folder / "burnt-last",
                clip_paths,
                narrations,
                music,
                cache=dict(early_burnt),
                burn=True,
            ),
        )

        # A cloud backend's clips are never copied: their last body is encoded either way.
        def encoded_after_last(burn: bool) -> float:
            cache: dict = {}
            where = folder / f"cloud-{burn}"
            where.mkdir()
            assemble(where, clip_paths, narrations, music, cache=cache, copy=False, burn=burn)
            kept = {k: v for k, v in cache.items() if k[0] == "sound" or last not in k}
            return median_of(
                3,
                lambda: assemble(
                    where, clip_paths, narrations, music, cache=dict(kept), copy=False, burn=burn
                ),
            )

        cloud_plain, cloud_burnt = encoded_after_last(False), encoded_after_last(True)
        # Before: the pieces joined as without subtitles, then the whole film burnt.
        whole = median_of(
            3,
            lambda: (
                assemble(folder / "last", clip_paths, narrations, music, cache=dict(early)),
                burn_whole(
                    folder / "last", folder / "last" / "film.mp4", folder / "last" / "subs.srt"
                ),
            ),
        )
        print("\n1. Ten 6 s 1280×720 scenes, crossfades, narration, ducked music")
        print(f"   ours, every piece, bodies copied (the animatic's clips): {ours:6.2f} s")
        print(f"   ours, every piece, bodies encoded (a cloud backend's clips): {encoded:6.2f} s")
        print(
            f"   ours, after the last clip (the rest made while clips rendered): "
            f"{after_last:5.2f} s"
        )
        print(
            f"   ffmpeg concat, copy, no transitions: {copy:5.2f} s (these two: median of 3)  "
            f"after the last clip / copy = {after_last / copy:.1f}× (target ≤ 3×); "
            f"every piece / copy = {ours / copy:.1f}×"
        )
        print(
            f"   burnt-in subtitles, every piece but the bodies (made with the clips): {burnt:6.2f}"
            " s; after the last clip: "
            f"{burnt_after_last:5.2f} s (median of 3) = {burnt_after_last / copy:.1f}× the copy "
            "(target ≤ 3×)"
        )
        print(
            f"   the last clip's render: {render_plain:5.2f} s, {render_with_body:5.2f} s with "
            f"its body and lines made alongside (medians of 3): "
            f"+{render_with_body - render_plain:4.2f} s"
        )
        print(
            f"   before (the whole film burnt after the join): {whole:5.2f} s after the last "
            f"clip (median of 3) = {whole / copy:.1f}× the copy; now {burnt_after_last / whole:.2f}"
            " of it"
        )
        print(
            f"   bodies encoded (cloud clips), after the last clip: {cloud_plain:5.2f} s"
            f" without subtitles, {cloud_burnt:5.2f} s burnt in (medians of 3) = "
            f"{cloud_burnt / cloud_plain:.2f}×"
        )
        if not options.skip_moviepy:
            slow, _ = timed(lambda: moviepy_assembly(folder, clip_paths, narrations, music))
            print(
                f"   moviepy compose + write_videofile: {slow:6.2f} s   "
                f"moviepy / ours = {slow / ours:.1f}× (target ≥ 5×)"
            )

        first, last = keyframes(folder, 4)
        redo_clip, clip = timed(lambda: render_clip(folder, 4, 6.0, 99, first, last))
        changed = list(clip_paths)
        changed[4] = clip.video_path
        (folder / "redo").mkdir()
        redo_assembly, _ = timed(
            lambda: assemble(folder / "redo", changed, narrations, music, cache=cache)
        )
        full = build_clips + ours
        redo = redo_clip + redo_assembly
        print("\n2. Re-render one scene of ten and reassemble")
        print(f"   full build (10 clips + assembly): {full:6.2f} s")
        print(
            f"   one scene + reassembly:           {redo:6.2f} s   "
            f"= {redo / full:.2f} of a full build (target ≤ 0.25)"
        )

        count = options.long_scenes
        # In a fresh process, so its peak memory is the assembly's own (not moviepy's above).
        child = subprocess.run(
            [sys.executable, __file__, "--only-long", str(count), "--clips", folder.as_posix()],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        long_time, own, largest = (float(v) for v in child.stdout.split()[-3:])
        print(
            f"\n3. A {count * 5.5 / 60:.1f}-minute film ({count} scenes) "
            "against the one-minute film (10 scenes)"
        )
        print(
            f"   assembly: {long_time:.1f} s, {long_time / ours:.1f}× the one-minute film's "
            f"{ours:.1f} s for {count / 10:.0f}× the scenes"
        )
        print(
            f"   peak memory: the assembling process {own:.0f} MB, "
            f"largest ffmpeg child {largest:.0f} MB (target < 400 MB)"
        )

        stages = {}
        five = folder / "five"
        five.mkdir()
        stages["keyframes"], keys = timed(
            lambda: [keyframes(five, i, "watercolour") for i in range(5)]
        )
        piper = find_voice("piper-joe") or voice
        stages["narration"], spoken = timed(
            lambda: [
                synthesise(LINES[i], voice=piper, path=five / f"n{i}.wav", workdir=five)
                for i in range(5)
            ]
        )
        stages["clips"], _ = timed(
            lambda: [render_clip(five, i, 6.0, i, *keys[i]) for i in range(5)]
        )
        stages["music"], _ = timed(
            lambda: (
                write_midi(mood="heroic", seconds=30, path=five / "m.mid", seed=3),
                render_music(midi_path=five / "m.mid", path=five / "m.wav"),
            )
        )
        five_clips = [next((five / f"clip-{i}-{i}").glob("video.mp4")) for i in range(5)]
        stages["assembly"], _ = timed(
            lambda: assemble(five, five_clips, spoken, five / "m.wav", cache={})
        )
        total = sum(stages.values())
        print(f"\n4. A five-scene film on the offline backends (Piper narration): {total:.1f} s")
        for stage, seconds in stages.items():
            print(f"   {stage:<10} {seconds:6.2f} s  {seconds / total:5.1%}")
        del film
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
