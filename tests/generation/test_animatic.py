"""The animatic backend on the real fixture photos: format, determinism, progress, cancel."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generation.animatic import AnimaticBackend
from generation.animatic_render import AnimaticRenderer
from generation.video import ClipRequest, RenderCanceled, RenderError
from tests.support import photo_path, probe_video


def request(seed=11, photos=("astronaut.png", "chelsea.png", "rocket.jpg"), prompt="A walk"):
    return ClipRequest(
        prompt=prompt, reference_images=[photo_path(name) for name in photos], seed=seed
    )


def render(tmp_path: Path, clip_request: ClipRequest, progress=None):
    workdir = tmp_path / f"render-{len(list(tmp_path.iterdir()))}"
    workdir.mkdir()
    return AnimaticBackend().render(
        clip_request, workdir=workdir, progress=progress or (lambda stage, fraction: None)
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_mp4_is_h264_yuv420p_720p_24fps_6s_faststart(tmp_path):
    clip = render(tmp_path, request())
    probe = probe_video(clip.video_path)
    assert (probe.codec, probe.profile, probe.pixel_format) == ("h264", "High", "yuv420p")
    assert (probe.width, probe.height, probe.fps, probe.frames) == (1280, 720, 24, 144)
    assert probe.duration == pytest.approx(6.0, abs=0.1)
    assert probe.top_level_boxes.index("moov") < probe.top_level_boxes.index("mdat")
    with Image.open(clip.poster_path) as poster:
        assert (poster.format, poster.size) == ("JPEG", (1280, 720))
    # The last frame, which a chained scene opens on: the clip's final picture, faded to black.
    with Image.open(clip.last_frame_path) as last:
        assert (last.format, last.size) == ("JPEG", (1280, 720))
        assert np.asarray(last).mean() < 20


def test_same_seed_same_video_other_seed_other_video(tmp_path):
    first = render(tmp_path, request(seed=5))
    again = render(tmp_path, request(seed=5))
    other = render(tmp_path, request(seed=6))
    assert digest(first.video_path) == digest(again.video_path)
    assert digest(first.poster_path) == digest(again.poster_path)
    assert digest(first.video_path) != digest(other.video_path)


def test_frames_show_the_photos_and_the_caption():
    photo = Image.open(photo_path("coffee.png")).convert("RGB")
    renderer = AnimaticRenderer(images=[photo], prompt="Coffee time", seed=1)
    middle = renderer.frame(3.0)
    assert middle.shape == (720, 1280, 3) and middle.dtype == np.uint8
    # Mid-clip the picture is the photo's colours, not black or a flat fill.
    assert 40 < middle[:500].mean() < 220 and middle[:500].std() > 20
    # The caption band holds white text pixels (above the bottom strip the player's controls
    # cover; they were under it, issue 12).
    assert (middle[500:626] > 245).all(axis=2).sum() > 500
    # It fades in from black.
    assert renderer.frame(0.0).max() == 0


def test_progress_moves_through_stages_with_values_between_0_and_1(tmp_path):
    reports = []
    render(tmp_path, request(photos=("coffee.png",)), lambda stage, f: reports.append((stage, f)))
    stages = [stage for stage, _ in reports]
    assert stages[0] == "preparing" and stages[-1] == "finishing"
    rendering = [f for stage, f in reports if stage == "rendering"]
    assert len(rendering) >= 100
    assert rendering == sorted(rendering)
    assert any(0.3 < f < 0.7 for f in rendering)


def test_cancel_from_progress_stops_the_render(tmp_path):
    calls = []

    def progress(stage, fraction):
        calls.append(fraction)
        if fraction > 0.3:
            raise RenderCanceled()

    with pytest.raises(RenderCanceled):
        render(tmp_path, request(), progress)
    assert max(calls) < 0.4


def test_unreadable_reference_image_fails_in_preparing(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    bad = ClipRequest(prompt="x", reference_images=[broken], seed=1)
    with pytest.raises(RenderError) as caught:
        render(tmp_path, bad)
    assert caught.value.stage == "preparing"
    assert "could not be read" in caught.value.message


def test_reading_a_finished_clip_writes_its_poster_and_its_actual_last_frame(tmp_path):
    """``read_clip`` (used for every provider's video) decodes the final frame of the file
    itself: here it matches the frame the animatic encoded last, and not its poster."""
    from generation.clips import read_clip

    rendered = render(tmp_path, request(photos=("rocket.jpg",)))
    poster, last = tmp_path / "poster.jpg", tmp_path / "last.jpg"
    duration = read_clip(rendered.video_path, poster_path=poster, last_frame_path=last)
    assert duration == pytest.approx(6.0, abs=0.1)
    decoded = np.asarray(Image.open(last), dtype=np.int16)
    encoded = np.asarray(Image.open(rendered.last_frame_path), dtype=np.int16)
    assert decoded.shape == (720, 1280, 3)
    assert np.abs(decoded - encoded).mean() < 4
    assert np.abs(decoded - np.asarray(Image.open(poster), dtype=np.int16)).mean() > 20


def test_a_file_that_is_not_a_video_is_refused_with_the_stage(tmp_path):
    from generation.clips import read_clip

    broken = tmp_path / "output.mp4"
    broken.write_bytes(b"not a video at all")
    with pytest.raises(RenderError) as refused:
        read_clip(broken, poster_path=tmp_path / "p.jpg", last_frame_path=tmp_path / "l.jpg")
    assert refused.value.stage == "saving"


def test_the_caption_stands_clear_of_the_players_controls():
    """Browsers draw their controls over the bottom of the picture; the caption's letters
    sit above that strip (on a black canvas, so only the letters are bright)."""
    from generation.animatic_render import CAPTION_LIFT

    black = Image.new("RGB", (1280, 720))
    frame = AnimaticRenderer(images=[black], prompt="Eileen waves goodbye", seed=1).frame(3.0)
    bright_rows = np.nonzero((frame.max(axis=2) > 200).any(axis=1))[0]
    assert len(bright_rows) > 5
    assert bright_rows.max() < 720 * (1 - CAPTION_LIFT)
    assert bright_rows.min() > 720 * 0.7


def test_posters_of_one_characters_dreams_show_different_photos():
    """The poster used to be the frame at 35 %, always inside the first photo's stretch, so
    a character's history cards all looked alike; now the seed picks which photo, and the
    poster is never a crossfade. (The rocket photo is blue, the other two warm: the poster's
    colour says which kind it shows.)"""
    names = ("astronaut.png", "rocket.jpg", "chelsea.png")
    photos = [Image.open(photo_path(name)).convert("RGB") for name in names]
    blue = np.asarray(photos[1].resize((1, 1))).reshape(3).astype(float)
    warm = np.asarray(photos[0].resize((1, 1))).reshape(3).astype(float)
    apart = np.abs(blue - warm).sum()
    shown = set()
    for seed in range(8):
        renderer = AnimaticRenderer(images=photos, prompt="", seed=seed, width=320, height=180)
        colour = renderer.frame(renderer.poster_time())[:130].reshape(-1, 3).mean(axis=0)
        to_blue, to_warm = np.abs(colour - blue).sum(), np.abs(colour - warm).sum()
        if to_blue < to_warm:
            # The rocket alone, not a crossfade with a warm photo.
            assert to_blue < 0.3 * apart
        shown.add("blue" if to_blue < to_warm else "warm")
    assert shown == {"blue", "warm"}
