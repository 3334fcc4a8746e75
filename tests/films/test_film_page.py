"""The film page as its owner meets it: which buttons it offers in each state, the player and
its subtitle track, downloads named after the film, and refusals said where the user acted."""

import re

import pytest
from django.urls import reverse

from films import services
from films.errors import FilmError
from films.models import Film
from films.quote import quote_film
from jobs.models import JobStatus
from tests.film_fixtures import make_cast, make_film

pytestmark = pytest.mark.django_db


def page_of(client, film) -> str:
    response = client.get(reverse("films:detail", args=[film.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def with_a_cut(film, **fields) -> Film:
    """The film as it is once a cut exists (the files' names; the page reads no file)."""
    Film.objects.filter(pk=film.pk).update(
        video=f"films/{film.public_id}/film-1.mp4",
        subtitles_vtt=f"films/{film.public_id}/subtitles-1.vtt",
        poster=f"films/{film.public_id}/poster-1.jpg",
        **fields,
    )
    film.refresh_from_db()
    return film


def test_burnt_in_subtitles_are_not_shown_twice(alice_client, user, make_character):
    """With the subtitles burnt into the picture, the page's WebVTT track was "showing" on
    top of them: every line twice. The track stays in the menu, off by default."""
    cast = make_cast(make_character, user)
    burnt = with_a_cut(make_film(user, cast, burn_subtitles=True), status=JobStatus.SUCCEEDED)
    plain = with_a_cut(make_film(user, cast), status=JobStatus.SUCCEEDED)
    burnt_track = re.search(r"<track [^>]*>", page_of(alice_client, burnt)).group(0)
    plain_track = re.search(r"<track [^>]*>", page_of(alice_client, plain)).group(0)
    assert " default" not in burnt_track and 'srclang="en"' in burnt_track
    assert plain_track.endswith(" default>")
    assert burnt.progress_event()["subtitles_default"] is False
    assert plain.progress_event()["subtitles_default"] is True
    assert burnt.progress_event()["subtitles_language"] == "en"


def test_the_current_cut_stays_playable_while_a_new_one_renders(alice_client, user, make_character):
    film = with_a_cut(make_film(user, make_cast(make_character, user)), status=JobStatus.RUNNING)
    assert "<video" in page_of(alice_client, film)
    assert "/film.mp4?v=" in film.progress_event()["video_url"]


@pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.CANCELED])
def test_a_failed_or_cancelled_film_offers_retry_not_a_second_render_button(
    alice_client, user, make_character, status
):
    film = make_film(user, make_cast(make_character, user))
    Film.objects.filter(pk=film.pk).update(status=status)
    page = page_of(alice_client, film)
    assert 'id="render-film"' not in page
    assert re.search(r'data-show-if="can_retry"\s*>', page) or "Retry</button>" in page
    assert 'data-show-if="can_retry" hidden' not in page


def test_a_move_in_an_unknown_direction_is_refused(alice_client, user, make_character):
    """Any direction but "up" used to move the scene down."""
    film = make_film(user, make_cast(make_character, user))
    first = film.scenes.order_by("position").first()
    order = list(film.scenes.order_by("position").values_list("pk", flat=True))
    response = alice_client.post(
        reverse("films:scene_move", args=[film.public_id, first.public_id]),
        {"direction": "sideways"},
        follow=True,
    )
    assert "Move a scene “up” or “down”." in response.content.decode()
    assert list(film.scenes.order_by("position").values_list("pk", flat=True)) == order


def test_control_characters_never_reach_a_title(user, make_character):
    film = make_film(user, make_cast(make_character, user), title="The\x07 Harbour\x1b[31m\n")
    assert film.title == "The Harbour[31m"


def test_a_tampered_submission_key_still_makes_the_film(alice_client, user, make_character):
    """An invalid hidden key was a bare 400 with no message anywhere on the page."""
    cast = make_cast(make_character, user)
    response = alice_client.post(
        reverse("films:create"),
        {"idea": "A pilot finds a harbour.", "genre": "drama", "style": "natural",
         "target_seconds": 30, "scene_count": 3, "voice": "espeak-en-us",
         "backend": "animatic", "music_mood": "none", "cast": [str(cast[0].public_id)],
         "submission": "not-a-uuid"},
    )  # fmt: skip
    assert response.status_code == 302
    assert Film.objects.count() == 1


def test_downloads_are_named_after_the_film(alice_client, user, make_character):
    film = with_a_cut(
        make_film(user, make_cast(make_character, user), title="Élodie's Harbour: Part 2"),
        status=JobStatus.SUCCEEDED,
    )
    Film.objects.filter(pk=film.pk).update(subtitles_srt=f"films/{film.public_id}/s.srt")
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    default_storage.save(film.subtitles_vtt.name, ContentFile(b"WEBVTT\n"))
    response = alice_client.get(
        reverse("films:subtitles", args=[film.public_id, "vtt"]), {"download": 1}
    )
    assert "%C3%A9lodies-harbour-part-2.vtt" in response["Content-Disposition"]
    from films.file_views import download_stem

    assert download_stem(film) == "élodies-harbour-part-2"
    film.title = "!!!"
    assert download_stem(film) == "film"


def test_a_refused_rerender_keeps_the_scenes_take(user, make_character, broker):
    """Re-render wrote the new clip seed before render_film refused, so a refused render
    still changed the scene's next take; its message spoke of editing."""
    film = make_film(user, make_cast(make_character, user))
    scene = film.scenes.select_related("film").order_by("position").first()
    seed = scene.clip_seed
    # The page was loaded before the film started rendering elsewhere.
    Film.objects.filter(pk=film.pk).update(status=JobStatus.RUNNING)
    with pytest.raises(FilmError, match="already rendering"):
        services.rerender_scene(scene=scene)
    scene.refresh_from_db()
    assert scene.clip_seed == seed
    with pytest.raises(FilmError, match="wait until it ends to render scene 1 again"):
        services.rerender_scene(scene=film.scenes.select_related("film").get(pk=scene.pk))


def test_a_characters_page_offers_a_film_with_them_as_the_cast(
    alice_client, user, other_user, make_character
):
    mine = make_character(user, name="Eileen")
    theirs = make_character(other_user, name="Mallory")
    page = alice_client.get(reverse("characters:detail", args=[mine.public_id])).content.decode()
    link = f"{reverse('films:create')}?cast={mine.public_id}"
    assert f'href="{link}"' in page and "Make a film with Eileen" in page
    form = alice_client.get(link).content.decode()
    assert re.search(rf'value="{mine.public_id}"[^>]*checked', form)
    # Someone else's character is not even a choice.
    form = alice_client.get(f"{reverse('films:create')}?cast={theirs.public_id}").content.decode()
    assert "Mallory" not in form
    assert not re.search(r'<input[^>]*name="cast"[^>]*checked', form)


def test_the_render_estimate_of_a_long_film_is_near_what_it_takes(user, make_character):
    """A ten-minute film's storyboard said about 892 s to render; it took 252 s."""
    film = make_film(user, make_cast(make_character, user), target_seconds=600, scene_count=12)
    quote = quote_film(film=film)
    per_second = 252 / 595
    assert quote.seconds > 120
    assert 0.7 < quote.render_seconds / (quote.seconds * per_second) < 1.5, quote


def test_a_voice_that_cannot_read_the_narration_is_named_on_the_storyboard(
    alice_client, user, make_character
):
    """An English voice reading Arabic text spoke 38 s of noise, and nothing said so."""
    film = make_film(user, make_cast(make_character, user))
    scene = film.scenes.order_by("position").first()
    from films.models import Scene

    Scene.objects.filter(pk=scene.pk).update(narration="كانت الليلة هادئة على الشاطئ.")
    page = page_of(alice_client, film)
    assert "Scene 1&#x27;s narration is in Arabic letters" in page
    assert "cannot read" in page and "Scene 2&#x27;s narration" not in page
    # A few foreign words in an English line are fine; so is Arabic for an Arabic voice.
    Scene.objects.filter(pk=scene.pk).update(narration="She said “شكرا” and left for Zürich.")
    assert quote_film(film=film).warnings == []
    Film.objects.filter(pk=film.pk).update(voice="espeak-ar")
    Scene.objects.filter(pk=scene.pk).update(narration="كانت الليلة هادئة على الشاطئ.")
    film.refresh_from_db()
    warned = quote_film(film=film).warnings
    assert not any(w.startswith("Scene 1'") for w in warned)
    assert any(w.startswith("Scene 2's narration is in Latin letters") for w in warned)
