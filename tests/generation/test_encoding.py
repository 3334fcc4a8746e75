"""Every clip a backend makes and every piece of a film's assembly is the one H.264 encoding
(``generation.encoding``), so the assembly's stream-copy join can rely on it, and every clip keeps
its poster and last frame by one rule. The GPU clips are checked in ``test_gpu_clips``."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from PIL import Image

from generation import assembly, encoding
from generation.animatic import AnimaticBackend
from generation.video import ClipRequest
from tests.support import photo_path, probe_video, x264_options


def assert_the_one_encoding(path, *, fps: int) -> None:
    probe = probe_video(path)
    assert (probe.codec, probe.profile, probe.pixel_format, probe.fps) == (
        "h264",
        "High",
        "yuv420p",
        fps,
    )
    options = x264_options(path)
    assert (options["crf"], options["threads"]) == (f"{encoding.CRF:.1f}", "2")


@pytest.mark.parametrize("scene", [False, True])
def test_an_animatic_clip_is_the_one_encoding_with_its_index_first(tmp_path, scene):
    """A dream's animatic went through moviepy's writer, a scene's through the assembly's."""
    request = ClipRequest(
        prompt="Eileen checks the map", seed=4, duration_seconds=6.0 if not scene else 3.0,
        reference_images=[photo_path("astronaut.png")], scene=scene,
    )  # fmt: skip
    clip = AnimaticBackend().render(request, workdir=tmp_path, progress=lambda s, f: None)
    assert_the_one_encoding(clip.video_path, fps=24)
    boxes = probe_video(clip.video_path).top_level_boxes
    assert boxes.index("moov") < boxes.index("mdat")
    for still in (clip.poster_path, clip.last_frame_path):
        with Image.open(still) as image:
            assert (image.format, image.size) == ("JPEG", (1280, 720))


def test_an_assembly_piece_is_the_one_encoding(tmp_path):
    piece = tmp_path / "piece.mp4"
    subprocess.run(
        [assembly.ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
         "testsrc2=s=1280x720:r=24", "-t", "1", *assembly.video_encode(), str(piece)],
        check=True,
    )  # fmt: skip
    assert_the_one_encoding(piece, fps=assembly.FPS)


def test_encode_frames_reports_each_frame_and_ffmpegs_words_on_failure(tmp_path):
    frames = [np.full((64, 96, 3), shade, np.uint8) for shade in range(0, 250, 10)]
    done = []
    out = tmp_path / "grey.mp4"
    encoding.encode_frames(
        frames, width=96, height=64, fps=24, outputs=[*encoding.h264(fps=24), str(out)],
        on_frame=lambda: done.append(1),
    )  # fmt: skip
    assert len(done) == len(frames) and probe_video(out).frames == len(frames)
    with pytest.raises(OSError, match="ffmpeg could not encode"):
        encoding.encode_frames(
            frames, width=96, height=64, fps=24, outputs=["-c:v", "no-such-codec", str(out)]
        )


def test_the_poster_is_taken_at_the_same_share_of_every_clip():
    assert [encoding.poster_index(n) for n in (1, 2, 81, 121, 144)] == [0, 0, 28, 42, 50]
