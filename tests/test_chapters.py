"""A film's chapters as players read them: the QuickTime chapter track (Apple's players) and
Nero's list (VLC, mpv), one chapter per scene whatever the scenes' lengths."""

import subprocess

import pytest

from generation import assembly
from tests.support import mp4_chapters


@pytest.mark.parametrize("seconds", [6, 12, 60])
def test_both_chapter_lists_hold_every_scene_whatever_its_length(tmp_path, seconds):
    """With sound at 48 kHz and a subtitle track, a scene over about 11 s made ffmpeg drop the
    whole QuickTime chapter track ("Application provided duration … is invalid"): its time
    scale was 192,000,000 a second and a chapter's duration overflowed 32 bits."""
    ffmpeg = assembly.ffmpeg_exe()
    pieces = []
    for index in range(3):
        piece = tmp_path / f"piece-{index}.mp4"
        subprocess.run(
            [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=24",
             "-t", str(seconds), *assembly.video_encode(), str(piece)],
            check=True,
        )  # fmt: skip
        pieces.append(piece)
    total = 3 * seconds
    sound = tmp_path / "sound.m4a"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i",
         f"sine=frequency=220:duration={total}:sample_rate=48000", "-c:a", "aac", str(sound)],
        check=True,
    )  # fmt: skip
    subtitles = tmp_path / "film.srt"
    subtitles.write_text(
        "".join(
            f"{i + 1}\n00:{(i * seconds) // 60:02d}:{(i * seconds) % 60:02d},300 --> "
            f"00:{(i * seconds) // 60:02d}:{(i * seconds) % 60 + 2:02d},000\nLine {i + 1}\n\n"
            for i in range(3)
        )
    )
    titles = ["1. EXT. HARBOUR - DAWN", "2. INT. LIGHTHOUSE - NIGHT", "3. NEW SCENE"]
    chapters = tmp_path / "chapters.txt"
    chapters.write_text(
        assembly.chapters_metadata(titles, [i * seconds for i in range(4)]), encoding="utf-8"
    )
    film = tmp_path / "film.mp4"
    assembly.join_and_mux(
        pieces=pieces, audio=sound, subtitles_srt=subtitles, chapters=chapters, out=film,
        workdir=tmp_path, width=320, height=180,
    )  # fmt: skip
    expected = [(float(i * seconds), title) for i, title in enumerate(titles)]
    quicktime, nero = mp4_chapters(film)
    assert quicktime == expected
    assert nero == expected
