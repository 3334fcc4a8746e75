"""Captions in any script: no empty boxes, letters joined where the script joins them, right-to-
left text set right to left, emoji in colour, and long lines wrapped within the frame."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generation.text import TextSetter, installed_faces

SAMPLES = {
    "latin": "Café naïve",
    "cyrillic": "Привет мир",
    "japanese": "東京の夢",
    "arabic": "مرحبا بالعالم",
    "hebrew": "שלום עולם",
    "emoji": "🚀🌙✨",
}


@pytest.fixture(scope="module")
def setter() -> TextSetter:
    if not installed_faces():
        pytest.fail("No caption font is installed: `make test` installs Debian's Noto fonts.")
    return TextSetter(size=40)


def ink(image: Image.Image) -> np.ndarray:
    """The drawn coverage of an RGBA line image, cropped to where anything was drawn."""
    alpha = np.asarray(image)[:, :, 3]
    rows, columns = np.nonzero(alpha > 40)
    return alpha[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]


def tofu(setter: TextSetter) -> np.ndarray:
    """What a character no font has looks like (an unassigned code point): the empty box."""
    return ink(setter.line_image("\u0378"))


@pytest.mark.parametrize("script", SAMPLES)
def test_every_character_is_drawn_as_its_own_glyph_not_an_empty_box(setter, script):
    box = tofu(setter)
    glyphs = {}
    for char in sorted(set(SAMPLES[script]) - {" "}):
        drawn = ink(setter.line_image(char))
        assert drawn.shape != box.shape or not np.array_equal(drawn, box), (char, "is a box")
        glyphs[char] = drawn.tobytes() + bytes(drawn.shape)
    # Distinct characters, distinct pictures: a missing font would draw one box for all.
    assert len(set(glyphs.values())) == len(glyphs)


def test_emoji_are_drawn_in_colour(setter):
    pixels = np.asarray(setter.line_image("🚀🌙"))
    drawn = pixels[pixels[:, :, 3] > 200][:, :3].astype(int)
    spread = drawn.max(axis=1) - drawn.min(axis=1)
    assert (spread > 60).mean() > 0.2  # not white, not grey: coloured


def test_arabic_letters_are_joined(setter):
    """Shaped Arabic is narrower than its letters set one by one (each in its isolated form)."""
    word = "مرحبا"
    isolated = sum(setter.width(char) for char in word)
    assert setter.width(word) < 0.9 * isolated


@pytest.mark.parametrize("word", ["שלום", "مرحبا"])
def test_right_to_left_words_begin_at_the_right(setter, word):
    """The word's first letter sits at its right end (the first letter alone is matched
    against both ends of the drawn word)."""
    drawn = ink(setter.line_image(word)).astype(float)
    first = ink(setter.line_image(word[0])).astype(float)
    height = min(drawn.shape[0], first.shape[0])
    width = first.shape[1]

    def distance(part: np.ndarray) -> float:
        return float(np.abs(part[-height:, :] - first[-height:, :]).mean())

    assert distance(drawn[:, -width:]) < distance(drawn[:, :width])


def test_long_lines_wrap_within_the_width_in_any_script(setter):
    text = "東京の夢を見る宇宙飛行士が月へ行く " * 6 + "Eileen walks home"
    lines = setter.wrap(text, max_width=600, max_lines=3)
    assert len(lines) == 3 and lines[-1].endswith("…")
    assert all(setter.width(line) <= 600 for line in lines)
    assert setter.wrap("Eileen walks home", max_width=600, max_lines=3) == ["Eileen walks home"]


def test_an_animatic_caption_in_japanese_is_drawn(tmp_path):
    """The animatic's caption uses the same setter: the band holds bright text."""
    from generation.animatic_render import AnimaticRenderer

    black = Image.new("RGB", (640, 360))
    frame = AnimaticRenderer(
        images=[black], prompt="東京の夢", seed=1, width=640, height=360
    ).frame(3.0)
    assert (frame.max(axis=2) > 200).sum() > 200


@pytest.mark.parametrize("size", [(1280, 720), (720, 1280), (960, 960)])
def test_a_posters_title_stays_above_the_players_controls(tmp_path, size):
    """At 390 px wide the title sat under the player's controls, which cover the bottom of a
    poster (at 390 px wide, its bottom quarter); it now ends above the bottom third."""
    from generation.poster import title_card
    from tests.support import photo_path

    width, height = size
    keyframe = tmp_path / "key.jpg"
    Image.open(photo_path("rocket.jpg")).convert("RGB").save(keyframe)
    plain = np.asarray(title_card(keyframe, title=" ", width=width, height=height), np.int16)
    titled = np.asarray(
        title_card(keyframe, title="The Harbour at the End of the Map", width=width,
                   height=height),
        np.int16,
    )  # fmt: skip
    drawn = np.abs(titled - plain).max(axis=(1, 2)) > 60  # rows where the title's letters are
    rows = np.flatnonzero(drawn)
    assert len(rows) > height * 0.05
    assert rows.max() < height * 0.7
