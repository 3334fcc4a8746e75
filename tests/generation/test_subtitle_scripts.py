"""Subtitles in any language: narration voices beyond English, cues cut where Chinese and
Japanese sentences end, and burnt-in subtitles that draw every script's own letters."""

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from generation import assembly
from generation.speech import Cue, split_cues, synthesise
from generation.subtitles import to_srt
from generation.voices import find_voice, installed_voices

# Two lines per script, the same number of letters, no letter shared at the same place: a
# font without the script draws the same empty boxes for both.
SCRIPTS = {
    "Japanese": ("猫が地図を見つけた", "海へ行こうと言った"),
    "Chinese": ("我们明天去看大海", "小猫找到一张地图"),
    "Korean": ("고양이가 지도를", "바다로 떠났어요"),
    "Arabic": ("وجدت القطة خريطة", "ذهبنا الى البحر"),
    "Hindi": ("बिल्ली को नक्शा मिला", "हम समुद्र गए थे"),
    "Greek": ("Η γάτα βρήκε χάρτη", "Πήγαμε στη θάλασσα"),
    "Russian": ("Кошка нашла карту", "Мы ушли к морю"),
}


def test_voices_in_other_languages_are_offered_with_their_language():
    voices = {voice.name: voice for voice in installed_voices()}
    assert voices["espeak-ja"].language == "jpn" and voices["espeak-ja"].language_tag == "ja"
    assert voices["espeak-de"].language_name == "German"
    assert voices["espeak-en-us"].language == "eng"


def test_chinese_and_japanese_sentences_are_cut_without_spaces():
    cues = split_cues("むかしむかし、ある村に猫がいました。猫は地図を見つけました！それから海へ。")
    assert [text for text, _ in cues] == [
        "むかしむかし、ある村に猫がいました。", "猫は地図を見つけました！", "それから海へ。",
    ]  # fmt: skip
    # A run of letters longer than a cue is cut to fit, never left whole.
    assert all(len(text) <= 84 for text, _ in split_cues("猫" * 200))


def test_a_greek_narration_is_timed_per_cue_and_by_letters(tmp_path: Path):
    narration = synthesise(
        "Καλημέρα κόσμε. Η γάτα βρήκε έναν χάρτη.", voice=find_voice("espeak-el"),
        path=tmp_path / "n.wav", workdir=tmp_path,
    )  # fmt: skip
    assert [cue.text for cue in narration.cues] == ["Καλημέρα κόσμε.", "Η γάτα βρήκε έναν χάρτη."]
    first, second = narration.cues
    assert second.start > first.end
    # The English alignment model is not used for Greek: words share the cue by letters.
    rates = {round((end - start) / (len(word) + 1), 2) for word, start, end in second.words}
    assert max(rates) - min(rates) <= 0.02


def _frame(video: Path, at_seconds: float) -> np.ndarray:
    raw = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-ss", str(at_seconds), "-i",
         str(video), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.uint8).reshape(360, 640)


def test_burnt_in_subtitles_draw_every_script(tmp_path: Path):
    piece = tmp_path / "piece.mp4"
    seconds = 2 * len(SCRIPTS)
    assembly.run_ffmpeg(
        ["-f", "lavfi", "-i", f"color=c=gray:s=640x360:d={seconds}", *assembly.video_encode(),
         str(piece)],
        step="making a grey piece",
    )  # fmt: skip
    cues = [
        Cue(line, 2 * index + half, 2 * index + half + 1, ())
        for index, lines in enumerate(SCRIPTS.values())
        for half, line in enumerate(lines)
    ]
    burnt = tmp_path / "burnt.mp4"
    assembly.encode_body(
        clip=piece, first=0, end=seconds * assembly.FPS, out=burnt, width=640, height=360,
        subtitles=to_srt(cues),
    )  # fmt: skip
    srt = tmp_path / "subtitles.srt"
    srt.write_text(to_srt(cues), encoding="utf-8")
    chapters = tmp_path / "chapters.txt"
    chapters.write_text(assembly.chapters_metadata(["One"], [0, seconds]), encoding="utf-8")
    sound = tmp_path / "sound.m4a"
    assembly.run_ffmpeg(
        ["-f", "lavfi", "-i", f"anullsrc=r=48000:cl=stereo:d={seconds}", "-c:a", "aac",
         str(sound)],
        step="making silence",
    )  # fmt: skip
    film = tmp_path / "film.mp4"
    assembly.join_and_mux(
        pieces=[burnt], audio=sound, subtitles_srt=srt, chapters=chapters, out=film,
        workdir=tmp_path, language="jpn",
    )  # fmt: skip
    blank = _frame(piece, 0.5)
    for index, script in enumerate(SCRIPTS):
        first, second = _frame(film, 2 * index + 0.5), _frame(film, 2 * index + 1.5)
        # Letters are drawn...
        assert np.count_nonzero(np.abs(first.astype(int) - blank) > 40) > 200, script
        # ...and they are the script's own: two different lines do not draw alike.
        differ = np.count_nonzero(np.abs(first.astype(int) - second) > 40)
        assert differ > 200, script
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(film)],
        capture_output=True, text=True, check=False,
    ).stderr  # fmt: skip
    assert "(jpn): Subtitle: mov_text" in probe
