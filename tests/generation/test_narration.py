"""Narration: installed voices only, cue timings from the speech itself, words timed by forced
alignment (pocketsphinx) where the dictionary knows them, and subtitles written from them."""

from pathlib import Path

import numpy as np
import pytest

from generation.speech import synthesise
from generation.subtitles import to_srt, to_vtt
from generation.voices import find_voice, installed_voices


def test_only_installed_voices_are_offered_and_piper_is_first():
    names = [voice.name for voice in installed_voices()]
    assert names[0] == "piper-joe" and "espeak-en-us" in names
    assert find_voice("hal-9000") is None


@pytest.mark.parametrize("voice", ["piper-joe", "espeak-en-us"])
def test_words_are_aligned_to_the_speech(voice, tmp_path: Path):
    narration = synthesise(
        "Nobody had seen the ship since the storm. The lighthouse blinked, once.",
        voice=find_voice(voice),
        path=tmp_path / "n.wav",
        workdir=tmp_path,
    )
    assert len(narration.cues) == 2
    for cue in narration.cues:
        starts = [start for _, start, _ in cue.words]
        assert starts[0] == pytest.approx(cue.start, abs=0.05)
        assert starts == sorted(starts) and cue.words[-1][2] <= cue.end + 0.001
        # Aligned, not spread by letter count: long and short words do not share a rate.
        rates = [(end - start) / (len(word) + 1) for word, start, end in cue.words]
        assert max(rates) / min(rates) > 1.3, cue.words


def test_words_the_dictionary_lacks_fall_back_to_letter_timing(tmp_path: Path):
    narration = synthesise(
        "Qwzxv blorptang vrrk.", voice=find_voice("espeak-en-us"), path=tmp_path / "n.wav",
        workdir=tmp_path,
    )  # fmt: skip
    (cue,) = narration.cues
    rates = [(end - start) / (len(word) + 1) for word, start, end in cue.words]
    assert np.allclose(rates, rates[0], rtol=0.05)


def test_subtitles_carry_each_words_time_in_vtt_and_plain_cues_in_srt(tmp_path: Path):
    narration = synthesise(
        "Tom & Jerry ran <home>.", voice=find_voice("espeak-en-us"), path=tmp_path / "n.wav",
        workdir=tmp_path,
    )  # fmt: skip
    vtt, srt = to_vtt(narration.cues), to_srt(narration.cues)
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ")
    line = vtt.splitlines()[3]
    assert line.startswith("Tom <00:00:") and "&amp;" in line and "&lt;home&gt;." in line
    assert "1\n00:00:00,000 --> " in srt and "Tom & Jerry ran <home>." in srt


def test_a_decoder_kept_for_the_next_narration_aligns_as_a_fresh_one(tmp_path: Path):
    """Each thread keeps its pocketsphinx decoder (loading one took 0.4 s, longer than a
    scene's alignment): reused after other words, and after a failed alignment, it times the
    words exactly as a new decoder in a new thread does."""
    import threading
    import wave

    from generation.alignment import align_words

    synthesise(
        "The lighthouse blinked, once.", voice=find_voice("espeak-en-us"),
        path=tmp_path / "n.wav", workdir=tmp_path,
    )  # fmt: skip
    with wave.open(str(tmp_path / "n.wav"), "rb") as source:
        rate = source.getframerate()
        pcm = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
    audio = pcm.astype(np.float32) / 32768.0
    words = ["the", "lighthouse", "blinked", "once"]
    first = align_words(words, audio, rate=rate)
    assert first is not None
    assert align_words(["hello", "world"], np.zeros(22050, dtype=np.float32), rate=22050) is None
    assert align_words(["lighthouse"], audio, rate=rate) != first
    again = align_words(words, audio, rate=rate)
    fresh = []
    thread = threading.Thread(target=lambda: fresh.append(align_words(words, audio, rate=rate)))
    thread.start()
    thread.join()
    assert again == first == fresh[0]


def test_alignment_of_silence_is_refused_not_invented():
    from generation.alignment import align_words

    assert align_words(["hello", "world"], np.zeros(22050, dtype=np.float32), rate=22050) is None
    assert align_words([], np.zeros(10, dtype=np.float32), rate=22050) is None


@pytest.mark.parametrize("voice", ["piper-joe", "espeak-en-us"])
def test_a_narration_that_looks_like_an_option_is_spoken_as_words(
    voice, tmp_path: Path, monkeypatch
):
    """Narration used to reach espeak-ng as an argument, so "-f<file>" made it speak any file
    the server could read into the user's narration audio."""
    monkeypatch.chdir(tmp_path)
    Path("secret.txt").write_text("the operator's password is hunter two. " * 20)
    sneaky = synthesise("-fsecret.txt", voice=find_voice(voice), path=tmp_path / "a.wav",
                        workdir=tmp_path)  # fmt: skip
    # The file would take half a minute to speak; its name, a few seconds.
    assert 0.5 < sneaky.seconds < 6, sneaky.seconds
    assert [cue.text for cue in sneaky.cues] == ["-fsecret.txt"]
    cold = synthesise("-30 degrees outside", voice=find_voice(voice), path=tmp_path / "b.wav",
                      workdir=tmp_path)  # fmt: skip
    assert 1 < cold.seconds < 6
    assert [w for w, _, _ in cold.cues[0].words] == ["-30", "degrees", "outside"]


def test_cues_stay_up_long_enough_to_read_where_the_speech_allows():
    """A one-word cue ("harbour.") was up for 0.3 s, and cues asked for up to 25 characters a
    second; the BBC's guideline is at least a second and at most about 17."""
    from generation.speech import Cue
    from generation.subtitles import MAX_CHARS_PER_SECOND, readable

    def cue(text, start, end):
        return Cue(text, start, end, tuple((w, start, end) for w in text.split()))

    shown = readable(
        [
            cue("They rowed out past the rocks, towards the", 0.0, 2.2),
            cue("harbour.", 2.35, 2.65),  # a lone word, right after: shown with its sentence
            cue("The lighthouse blinked once, twice, three times, then slowly went dark.",
                3.5, 5.4),
            cue("Then nothing.", 5.6, 6.1),  # too fast, but together they pass two lines
            cue("Silence.", 9.0, 9.4),
        ],
        end=9.8,
    )  # fmt: skip
    assert [c.text for c in shown] == [
        "They rowed out past the rocks, towards the harbour.",
        "The lighthouse blinked once, twice, three times, then slowly went dark.",
        "Then nothing.",
        "Silence.",
    ]
    starts = [c.start for c in shown]
    assert starts == [0.0, 3.5, 5.6, 9.0]  # every cue still appears with its first word
    for this, after in zip(shown, shown[1:], strict=False):
        assert this.end <= after.start - 2 / 24 + 1e-9
    # Up long enough and slow enough, unless the next cue (or the film's end) comes first.
    assert shown[0].end - shown[0].start >= len(shown[0].text) / MAX_CHARS_PER_SECOND
    assert shown[1].end == pytest.approx(5.6 - 2 / 24, abs=0.001)
    assert shown[2].end - shown[2].start >= 1.0
    assert shown[3].end == 9.8
    assert len(shown[0].words) == len(shown[0].text.split())
