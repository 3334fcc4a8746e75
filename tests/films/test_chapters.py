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
        workdir=tmp_path,
    )  # fmt: skip
    expected = [(float(i * seconds), title) for i, title in enumerate(titles)]
    quicktime, nero = mp4_chapters(film)
    assert quicktime == expected
    assert nero == expected


def test_burnt_in_arabic_ends_its_sentence_on_the_left(tmp_path):
    """libass lays lines out left to right, so a burnt-in Arabic sentence's full stop was
    drawn at its right end, where a reader of Arabic finds the start. Drawn with and without
    the full stop, the letters of a right-to-left sentence move right to make room for it on
    the left (the line is centred); they moved left."""
    import numpy as np
    from PIL import Image

    from generation.subtitles import for_burning

    assert for_burning("1\n00:00:00,000 --> 00:00:01,000\nHello.\n") == (
        "1\n00:00:00,000 --> 00:00:01,000\nHello.\n"
    )
    ffmpeg = assembly.ffmpeg_exe()
    piece = tmp_path / "piece.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:size=640x360:rate=24",
         "-t", "1", *assembly.video_encode(), str(piece)],
        check=True,
    )  # fmt: skip

    def drawn(text: str) -> np.ndarray:
        film = tmp_path / "film.mp4"
        assembly.encode_body(
            clip=piece, first=0, end=assembly.FPS, out=film, width=640, height=360,
            subtitles=f"1\n00:00:00,000 --> 00:00:01,000\n{text}\n",
        )  # fmt: skip
        frame = tmp_path / "frame.png"
        subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(film), "-frames:v", "1",
                        str(frame)], check=True)  # fmt: skip
        pixels = np.asarray(Image.open(frame).convert("L"), dtype=np.int16)
        return (np.abs(pixels - 128) > 60).astype(np.int16)

    sentence = "كانت الليلة هادئة على الشاطئ"
    without, with_stop = drawn(sentence), drawn(sentence + ".")

    def overlap(shift: int) -> int:
        return int((np.roll(without, shift, axis=1) * with_stop).sum())

    best = max(range(-15, 16), key=overlap)
    assert best > 0, best
