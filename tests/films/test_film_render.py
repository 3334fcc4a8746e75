"""A film rendered end to end on the embedded default through the real actors: keyframes,
narration, chained animatic clips, music and the assembly, checked as a viewer would."""

import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from films import services
from films.assembly import film_chapters
from films.files import SCENE_FILE_FIELDS
from films.models import Film
from films.pieces import prepare_early
from films.quote import film_has_changes
from jobs.models import JobStatus
from tests.film_fixtures import make_cast, make_film, render_to_end
from tests.support import (
    Events,
    mp4_chapters,
    probe_video,
    run_jobs,
    stored_bytes,
    stored_files,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_film_renders_with_sound_subtitles_and_chapters(
    user, make_character, broker, worker, tmp_path
):
    film = make_film(user, make_cast(make_character, user))
    run_jobs(broker, worker)
    scenes = list(film.scenes.order_by("position"))
    assert all(s.first_keyframe and s.last_keyframe and s.narration_audio for s in scenes)
    assert all(s.status == JobStatus.DRAFT for s in scenes)

    services.render_film(film=film)
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert film.status == JobStatus.SUCCEEDED, film.error
    video = tmp_path / "film.mp4"
    video.write_bytes(stored_bytes(film.video))
    probe = probe_video(video)
    assert (probe.codec, probe.pixel_format) == ("h264", "yuv420p")
    assert probe.top_level_boxes.index("moov") < probe.top_level_boxes.index("mdat")
    scenes = list(film.scenes.order_by("position"))
    # The animatic encodes scenes for the assembly, which copies their bodies; the joined
    # stream decodes from end to end without a single error.
    assert all(s.clip_copyable for s in scenes)
    errors = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(video), "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    assert errors == ""
    expected = sum(round(s.clip_seconds * 24) for s in scenes) - 12 * (len(scenes) - 1)
    # Copied bodies are the scenes' own frames, bit for bit, exactly where they belong: the
    # second scene's body starts 12 frames into its clip, right after the first seam.
    second = tmp_path / "second.mp4"
    second.write_bytes(stored_bytes(scenes[1].clip))
    first_length = round(scenes[0].clip_seconds * 24)
    body_start = _raw_frame(video, first_length)
    assert len(body_start) == 1280 * 720 * 3 and body_start == _raw_frame(second, 12)
    assert _raw_frame(video, first_length + 30) == _raw_frame(second, 42)
    assert probe.frames == expected
    assert film.duration_seconds == pytest.approx(expected / 24, abs=1 / 24)
    log = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-nostats",
            "-i",
            str(video),
            "-map",
            "0:a",
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    source = log.split("Stream mapping")[0]
    assert len(re.findall(r"Chapter #0:\d+", source)) == len(scenes)
    # Both chapter lists in the MP4 are the ones the film page lists.
    listed = [(pytest.approx(start, abs=0.01), title) for title, start in
              film_chapters(film=film)]  # fmt: skip
    quicktime, nero = mp4_chapters(video)
    assert len(listed) == len(scenes) and quicktime == listed and nero == listed
    assert "Audio: aac" in log and "Subtitle: mov_text" in log
    integrated = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", log)[-1])
    peak = float(re.findall(r"Peak:\s+(-?[\d.]+) dBFS", log)[-1])
    assert -17.0 <= integrated <= -15.0
    assert peak <= -1.0
    vtt = stored_bytes(film.subtitles_vtt).decode()
    assert vtt.startswith("WEBVTT") and "-->" in vtt
    # Mostly narration, and the music bed heard between lines: a film whose narration covered
    # 14 s of 52, its music alone at -32 LUFS against speech at -15, felt empty.
    cues = list(zip(_cue_starts(vtt), _cue_ends(vtt), strict=True))
    assert sum(end - start for start, end in cues) > 0.5 * film.duration_seconds
    edges = [0.0, *[t for cue in cues for t in cue], film.duration_seconds]
    quiet = [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= 1.0]
    assert quiet, "no stretch of music alone to measure"
    assert _loudness(video, quiet) > integrated - 12
    _assert_pieces_were_made_while_clips_rendered(film, scenes)


def test_burnt_in_subtitles_are_drawn_into_each_piece_while_clips_render(
    user, make_character, broker, worker, tmp_path
):
    """Burnt-in subtitles re-encoded the whole film after the last clip (20 of 56 s at
    "joining the scenes"). Each piece is drawn with its own lines as it is made, so the first
    scene's body stored while the second clip rendered already shows its lines, and the film
    is those pieces joined: the lines where they are spoken, the picture untouched above.
    The animatic makes each body with its clip, so once the last clip is in only its
    transition is left to encode (the last body was encoded after it, 7× a stream copy)."""
    import numpy as np
    from django.core.files.storage import default_storage

    film = make_film(user, make_cast(make_character, user), scene_count=3, target_seconds=30,
                     burn_subtitles=True, music_mood="none")  # fmt: skip
    film = render_to_end(film, broker, worker)
    scenes = list(film.scenes.order_by("position"))
    video = tmp_path / "film.mp4"
    video.write_bytes(stored_bytes(film.video))
    first_clip = tmp_path / "first.mp4"
    first_clip.write_bytes(stored_bytes(scenes[0].clip))
    starts = _cue_starts(stored_bytes(film.subtitles_vtt).decode())
    middle = round((starts[0] + 0.4) * 24)  # a frame of the first scene with a line up
    first_body = round(scenes[0].clip_seconds * 24) - 12
    assert middle < first_body

    def rows(frame: bytes) -> "np.ndarray":
        return np.frombuffer(frame, dtype=np.uint8).reshape(720, 1280, 3).astype(int)

    clip_frame = rows(_raw_frame(first_clip, middle))
    drawn = np.abs(rows(_raw_frame(video, middle)) - clip_frame).max(axis=2) > 60
    # The line is drawn in the lower part of the picture, and nothing else changed.
    assert drawn[540:].sum() > 1000 and drawn[:400].sum() == 0

    last_clip = Path(default_storage.path(scenes[-1].clip.name)).stat().st_mtime_ns
    pieces = [
        Path(default_storage.path(str(name)))
        for name in stored_files(f"films/{film.public_id}/pieces")
        if name.suffix == ".mp4"
    ]
    early = [path for path in pieces if path.stat().st_mtime_ns < last_clip]
    body = next(path for path in early if probe_video(path).frames == first_body)
    in_piece = np.abs(rows(_raw_frame(body, middle)) - clip_frame).max(axis=2) > 60
    assert in_piece[540:].sum() > 1000
    # The join copied the pieces: the film's frame is the piece's, bit for bit.
    assert _raw_frame(body, middle) == _raw_frame(video, middle)
    late = [path for path in pieces if path.stat().st_mtime_ns > last_clip]
    seam_into_last = [] if scenes[-2].transition == "cut" else [12]
    assert [probe_video(path).frames for path in late] == seam_into_last


def _cue_ends(vtt: str) -> list[float]:
    return [
        int(h) * 3600 + int(m) * 60 + float(s)
        for h, m, s in re.findall(r"--> (\d+):(\d+):([\d.]+)", vtt)
    ]


def _loudness(video, spans) -> float:
    """Integrated loudness (LUFS, EBU R128) of ``video``'s sound over ``spans`` (seconds)."""
    parts = [f"[0:a]atrim={a:.3f}:{b:.3f},asetpts=N/SR/TB[p{i}]" for i, (a, b) in enumerate(spans)]
    joined = "".join(f"[p{i}]" for i in range(len(spans)))
    graph = ";".join(parts) + f";{joined}concat=n={len(spans)}:v=0:a=1,ebur128[out]"
    log = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(video),
         "-filter_complex", graph, "-map", "[out]", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", log)[-1])


def _assert_pieces_were_made_while_clips_rendered(film, scenes) -> None:
    """Every piece of the assembly but the last scene's body and seam was stored before the
    last clip was: the film's worker made them while the clips rendered. (On local disk,
    whose times are exact; S3 keeps whole seconds.)"""
    from django.core.files.storage import default_storage

    try:
        last_clip = Path(default_storage.path(scenes[-1].clip.name)).stat().st_mtime_ns
    except NotImplementedError:
        return
    pieces = [
        Path(default_storage.path(str(name))).stat().st_mtime_ns
        for name in stored_files(f"films/{film.public_id}/pieces")
    ]
    # Bodies and seams of every scene, and the sound.
    assert len(pieces) == 2 * len(scenes)
    assert sum(made < last_clip for made in pieces) == len(pieces) - 2


def _raw_frame(video, index: int) -> bytes:
    """Frame ``index`` of ``video``, decoded to raw RGB."""
    return subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(video), "-vf",
         f"select=eq(n\\,{index})", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip


def _frame_png(video, at: str, out):
    """One frame of ``video`` as PNG: ``at`` is "first" or "last"."""
    seek = ["-sseof", "-0.1"] if at == "last" else []
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-y", *seek, "-i", str(video),
         "-update", "1", "-frames:v", "1" if at == "first" else "100", str(out)],
        capture_output=True, check=True,
    )  # fmt: skip
    return out


def _ssim(first, second) -> float:
    log = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(first), "-i", str(second),
         "-lavfi", "ssim", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    return float(re.search(r"All:([\d.]+)", log).group(1))


def _cue_starts(vtt: str) -> list[float]:
    starts = []
    for hours, minutes, seconds in re.findall(r"^(\d+):(\d+):([\d.]+) -->", vtt, re.M):
        starts.append(int(hours) * 3600 + int(minutes) * 60 + float(seconds))
    return starts


def _onsets(video, tmp_path) -> "tuple[list[float], object]":
    """The film's sound as 1 kHz frames of RMS level (one per millisecond)."""
    import numpy as np

    raw = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(video), "-map", "0:a",
         "-ac", "1", "-ar", "16000", "-f", "s16le", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768
    frames = samples[: len(samples) // 16 * 16].reshape(-1, 16)
    return np.sqrt((frames**2).mean(axis=1))


def test_chained_cuts_are_continuous_and_every_cue_starts_on_its_word(
    user, make_character, broker, worker, tmp_path
):
    film = make_film(user, make_cast(make_character, user), music_mood="none", voice="piper-joe")
    run_jobs(broker, worker)
    events = Events(user)
    services.render_film(film=film)
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert film.status == JobStatus.SUCCEEDED, film.error
    # One progress figure that never goes back: each pass after a clip settled used to show
    # "keyframes and narration of scene 1 · 0 %" again between "rendering clips" reports.
    events.stages()
    shown = [(e["stage"], e["percent"]) for e in events.received if e["kind"] == "film"]
    percents = [percent for _, percent in shown]
    assert percents == sorted(percents), shown
    first_clips = next(i for i, (stage, _) in enumerate(shown) if stage.startswith("rendering"))
    assert not any(stage.startswith("keyframes") for stage, _ in shown[first_clips:]), shown
    scenes = list(film.scenes.order_by("position"))
    for before, after in zip(scenes, scenes[1:], strict=False):
        (tmp_path / "a.mp4").write_bytes(stored_bytes(before.clip))
        (tmp_path / "b.mp4").write_bytes(stored_bytes(after.clip))
        last = _frame_png(tmp_path / "a.mp4", "last", tmp_path / "last.png")
        first = _frame_png(tmp_path / "b.mp4", "first", tmp_path / "first.png")
        assert _ssim(last, first) >= 0.9, (before.number, after.number)

    video = tmp_path / "film.mp4"
    video.write_bytes(stored_bytes(film.video))
    level = _onsets(video, tmp_path)
    starts = _cue_starts(stored_bytes(film.subtitles_vtt).decode())
    assert len(starts) >= len(scenes)
    import numpy as np

    loud = level > 0.1 * float(level.max())
    # A word starts where sound follows at least 50 ms of silence.
    quiet_before = np.convolve(~loud, np.ones(50), "full")[: len(loud)] >= 50
    onsets = np.flatnonzero(loud[1:] & quiet_before[:-1]) + 1
    for start in starts:
        nearest = onsets[np.abs(onsets / 1000 - start).argmin()] / 1000
        assert abs(nearest - start) <= 0.1, (start, nearest)


def test_rerendering_one_scene_redoes_only_it_and_the_assembly(
    user, make_character, broker, worker, s3_media, tmp_path
):
    """On S3 media, as in production. A waiting pass asks which pieces are stored; it must
    not download them (nor the music) from the bucket again each time. Re-rendering the
    last scene then redoes only it and the assembly."""
    film = render_to_end(
        make_film(user, make_cast(make_character, user), scene_count=3), broker, worker
    )
    scenes = list(film.scenes.order_by("position"))
    workdir = tmp_path / "pass"
    workdir.mkdir()
    prepare_early(
        film, scenes, ready=[True, True, False], lengths=[s.clip_seconds for s in scenes],
        workdir=workdir,
    )  # fmt: skip
    assert sorted(p.name for p in workdir.iterdir()) == []

    fields = SCENE_FILE_FIELDS
    before = {s.pk: {f: getattr(s, f).name for f in fields} for s in film.scenes.all()}
    contents = {s.pk: stored_bytes(s.clip) for s in film.scenes.all()}
    old_video, old_url = film.video.name, film.progress_event()["video_url"]
    last = film.scenes.order_by("position").last()
    # A finished film offered "Render changes" with nothing changed.
    assert film_has_changes(film=film) is False
    Film.objects.filter(pk=film.pk).update(title="A new title")
    film.refresh_from_db()
    assert film_has_changes(film=film) is True

    services.rerender_scene(scene=last)
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert film.status == JobStatus.SUCCEEDED, film.error
    assert film.video.name != old_video
    # The new cut has a new address, so no browser replays the old one from its cache.
    assert film.progress_event()["video_url"] != old_url
    for scene in film.scenes.all():
        now = {f: getattr(scene, f).name for f in fields}
        if scene.pk == last.pk:
            assert now["clip"] != before[scene.pk]["clip"]
            assert now["first_keyframe"] == before[scene.pk]["first_keyframe"]
        else:
            assert now == before[scene.pk], scene.number
            assert stored_bytes(scene.clip) == contents[scene.pk]
            assert scene.attempts == 1


def test_scenes_that_do_not_chain_render_side_by_side(user, make_character, broker, worker):
    """Without continuous cuts every scene's clip is queued at once, so two workers render
    two scenes at the same time (the docs promise it; the film page showed one at a time)."""
    film = make_film(user, make_cast(make_character, user), chaining=False, scene_count=4,
                     target_seconds=40, music_mood="none")  # fmt: skip
    render_to_end(film, broker, worker)
    spans = sorted(film.scenes.values_list("started_at", "finished_at"))
    assert all(start and end for start, end in spans)
    overlapping = [a[1] > b[0] for a, b in zip(spans, spans[1:], strict=False)]
    assert any(overlapping), [(a.strftime("%S.%f"), b.strftime("%S.%f")) for a, b in spans]
