"""Each step of a film holds its own freshness rule: a result is fresh while the key of the
inputs it was made from is the key they give now, so an edit makes exactly the steps that
depend on it stale, and nothing else."""

from __future__ import annotations

import pytest

from films.assembly import assembly_key
from films.clips import clip_fresh, clip_key
from films.keyframes import keyframes_fresh, keyframes_key
from films.models import Film, Scene
from films.music import music_key
from films.narration import narration_fresh, narration_key, needed_seconds, scene_length
from films.storyboard import stale_steps
from generation.registry import get_backend
from jobs.models import JobStatus
from tests.film_fixtures import make_cast, make_film, render_to_end

pytestmark = pytest.mark.django_db(transaction=True)


def _scenes(film: Film) -> list[Scene]:
    return list(film.scenes.select_related("film").prefetch_related("cast").order_by("position"))


def test_each_edit_makes_stale_only_the_steps_that_depend_on_it(
    user, make_character, broker, worker
):
    film = render_to_end(make_film(user, make_cast(make_character, user)), broker, worker)
    first, second, third = _scenes(film)
    assert [stale_steps(s) for s in (first, second, third)] == [[], [], []]
    assert clip_fresh(first, previous=None) and clip_fresh(second, previous=first)
    assert film.assembly_key == assembly_key(film, [first, second, third])

    # A new shot: the clip only (the keyframes and narration keep their keys).
    first.shot = "She climbs the lighthouse stairs two at a time."
    assert keyframes_fresh(first) and narration_fresh(first)
    assert not clip_fresh(first, previous=None)

    # New words: the narration, and through it the clip; not the keyframes.
    second.narration = "The map was wrong, and she knew it."
    assert keyframes_fresh(second) and not narration_fresh(second)
    assert [stage for stage, _ in stale_steps(second)] == ["narration"]
    assert not clip_fresh(second, previous=first)

    # A new keyframe description: the keyframes, and through them the clip.
    third.last_frame_text = "The harbour lights, seen from the cliff."
    assert not keyframes_fresh(third) and narration_fresh(third)
    assert [stage for stage, _ in stale_steps(third)] == ["keyframes"]
    assert not clip_fresh(third, previous=second)

    # A new transition: the assembly only.
    third.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    scenes = [first, second, third]
    first.transition = "dip" if first.transition != "dip" else "cut"
    assert clip_fresh(first, previous=None)
    assert film.assembly_key != assembly_key(film, scenes)

    # A chained clip: the same last frame before it (by content) keeps it fresh, another
    # makes it stale; unchained, the frame before does not count.
    assert clip_fresh(second, previous=first)
    first.last_frame_digest = "0" * 64
    assert not clip_fresh(second, previous=first)
    second.film.chaining = False
    assert clip_key(second, previous=first) == clip_key(second, previous=None)

    # A clip that did not succeed is never fresh, whatever its key.
    first.status = JobStatus.FAILED
    assert first.clip and first.clip_key == clip_key(first, previous=None)
    assert not clip_fresh(first, previous=None)


def test_keys_name_their_inputs(user, make_character):
    film = make_film(user, make_cast(make_character, user))
    scene = _scenes(film)[0]
    before = (keyframes_key(scene), narration_key(scene))
    scene.narration = f"  {scene.narration}  "  # the same words, spaced differently
    assert narration_key(scene) == before[1]
    scene.keyframe_seed += 1
    assert keyframes_key(scene) != before[0] and narration_key(scene) == before[1]
    scene.film.voice = "espeak-en-gb"
    assert narration_key(scene) != before[1]
    # The music follows the film's length to the second, not its fractions.
    assert music_key(film, 60.2) == music_key(film, 59.8) != music_key(film, 61.0)


def test_a_scene_lasts_as_long_as_its_words_and_at_most_three_quiet_seconds_more(
    user, make_character
):
    film = make_film(user, make_cast(make_character, user))
    scene = _scenes(film)[0]
    backend = get_backend("animatic")
    scene.transition = "cut"
    assert needed_seconds(scene, spoken=4.0) == 5.0  # 0.3 s lead-in, 0.7 s breath
    scene.planned_seconds = 20.0
    assert scene_length(scene, backend, spoken=4.0) == pytest.approx(8.0, abs=0.5)
    scene.planned_seconds = 2.0
    assert scene_length(scene, backend, spoken=4.0) == pytest.approx(5.0, abs=0.5)
