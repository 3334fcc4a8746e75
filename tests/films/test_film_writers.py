"""A film written by a language model (Claude on Bedrock, stubbed at the client with botocore's
Stubber): the new-film form offers the configured writers; the film waits with no scenes while
its script is written in the background, its most expensive script reserved against the
budget; the script becomes the storyboard and the charge settles at what the calls cost. A
model that cannot write leaves the reason, "Try again" and "Write it with the template";
nothing is half-saved, and nobody else can act on the film."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from films import services
from films.errors import FilmError
from films.kinds import unprepared_films
from films.models import SCRIPT_STAGE, Film
from films.script import create_film
from films.writing import retry_writing
from jobs.models import Charge, ChargeStatus, ChargeUnit
from tests.film_fixtures import make_cast
from tests.generation.test_script_writers import GOOD, claude_reply, scene
from tests.support import run_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def brief(owner, cast, **fields):
    values = dict(
        owner=owner, cast=cast, idea="A test pilot and her cat find a map to a lost harbour.",
        genre="adventure", style="vintage", voice="espeak-en-us", backend="animatic",
        target_seconds=30, scene_count=3, seed=11, writer="claude",
    )  # fmt: skip
    values.update(fields)
    return values


def charges(film):
    return list(Charge.objects.filter(job_id=film.pk, unit=ChargeUnit.TOKENS).order_by("id"))


@pytest.mark.seam  # the script's message, its locked write and its charge on each set-up
def test_the_models_script_becomes_the_storyboard_and_its_cost_settles(
    claude, user, make_character, broker, worker
):
    cast = make_cast(make_character, user)
    film = create_film(**brief(user, cast))
    assert film.is_writing and film.scenes.count() == 0
    assert film.title == "A test pilot and her cat find a map to a lost harbour."
    [reserved] = charges(film)
    assert reserved.status == ChargeStatus.RESERVED and reserved.estimated_cost_usd > 1

    claude.add_response("converse", claude_reply(json.dumps(GOOD), tokens=(2000, 1000)))
    run_jobs(broker, worker)

    film.refresh_from_db()
    assert (film.stage, film.error, film.title) == ("storyboard", "", "The Lost Harbour")
    assert film.logline == GOOD["logline"]
    scenes = list(film.scenes.order_by("position"))
    assert [s.heading for s in scenes] == [s["heading"] for s in GOOD["scenes"]]
    assert [[c.name for c in s.cast.all()] for s in scenes] == [
        ["Eileen"], sorted(["Eileen", "Chelsea"]), ["Chelsea"]
    ]  # fmt: skip
    # Its storyboard was prepared straight after: keyframes drawn, narration spoken.
    assert all(s.first_keyframe and s.narration_audio for s in scenes)
    [settled] = charges(film)
    assert settled.status == ChargeStatus.SETTLED and settled.quantity == 3000
    assert settled.cost_usd == Decimal("21.00")  # 2,000 × $3/1k + 1,000 × $15/1k


def test_the_model_is_told_the_cast_sheets_and_the_voices_language(
    claude, user, make_character, broker, worker
):
    cast = make_cast(make_character, user)
    cast[1].description = "A ginger tabby with a white chest."
    cast[1].save()
    film = create_film(**brief(user, cast, voice="espeak-fr-fr"))
    sent = []
    claude.add_response("converse", claude_reply(json.dumps(GOOD)))
    claude.client.meta.events.register(
        "before-parameter-build.bedrock-runtime.Converse",
        lambda params, **_: sent.append(copy.deepcopy(params)),
    )
    run_jobs(broker, worker)
    asked = sent[0]["messages"][0]["content"][0]["text"]
    assert "Chelsea: A ginger tabby with a white chest." in asked
    assert "Write the narration in French" in asked
    assert Film.objects.get(pk=film.pk).scenes.count() == 3


def test_a_model_that_cannot_write_says_why_and_the_template_writes_it(
    claude, user, make_character, broker, worker, client
):
    cast = make_cast(make_character, user)
    film = create_film(**brief(user, cast))
    for _ in range(2):  # its reply, and the reply to the repair round
        claude.add_response("converse", claude_reply("{not json", tokens=(1000, 500)))
    run_jobs(broker, worker)

    film.refresh_from_db()
    assert film.is_writing and film.scenes.count() == 0
    assert film.error.startswith("script: Claude (Bedrock) wrote a script that does not fit")
    # Both replies were billed: the charge settles at their cost, not at nothing.
    [charge] = charges(film)
    assert (charge.status, charge.cost_usd) == (ChargeStatus.SETTLED, Decimal("21.00"))
    client.force_login(user)
    page = client.get(reverse("films:detail", args=[film.public_id])).content.decode()
    assert "Try again" in page and "Write it with the template" in page
    assert 'id="render-film"' not in page

    response = client.post(reverse("films:script_template", args=[film.public_id]), follow=True)
    assert "The template wrote the script." in response.content.decode()
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert (film.stage, film.error, film.writer) == ("storyboard", "", "template")
    assert film.scenes.count() == 3
    assert all(s.first_keyframe for s in film.scenes.all())
    assert len(charges(film)) == 1  # the template costs nothing


def test_try_again_reserves_a_new_script_and_writes_it(
    claude, user, make_character, broker, worker
):
    cast = make_cast(make_character, user)
    film = create_film(**brief(user, cast))
    claude.add_client_error("converse", "AccessDeniedException", "no access", 403)
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert "the operator must grant it" in film.error
    assert [c.status for c in charges(film)] == [ChargeStatus.VOID]  # refused: nothing billed

    claude.add_response("converse", claude_reply(json.dumps(GOOD)))  # before the worker asks
    retry_writing(film=film)
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert (film.stage, film.error) == ("storyboard", "")
    assert [c.status for c in charges(film)] == [ChargeStatus.VOID, ChargeStatus.SETTLED]


@pytest.mark.seam  # a delayed message on each broker
def test_a_busy_model_is_asked_again_later(claude, user, make_character, broker, worker):
    cast = make_cast(make_character, user)
    film = create_film(**brief(user, cast))
    claude.add_client_error("converse", "ThrottlingException", "slow down", 429)
    claude.add_client_error("converse", "ThrottlingException", "slow down", 429)
    claude.add_response("converse", claude_reply(json.dumps(GOOD)))
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert (film.stage, film.error, film.attempts) == ("storyboard", "", 0)


def test_a_model_still_busy_after_its_tries_says_so(claude, user, make_character, broker, worker):
    film = create_film(**brief(user, make_cast(make_character, user)))
    for _ in range(4):
        claude.add_client_error("converse", "ThrottlingException", "slow down", 429)
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert (
        film.error
        == "script: Claude (Bedrock) is busy (ThrottlingException); try again in a minute."
    )


def test_a_script_over_the_budget_saves_nothing(claude, settings, user, make_character):
    settings.DAILY_BUDGET_USD = "1.00"
    cast = make_cast(make_character, user)
    with pytest.raises(FilmError, match="Write it with the template"):
        create_film(**brief(user, cast))
    assert not Film.objects.exists() and not Charge.objects.exists()


def test_a_writer_not_offered_is_refused(settings, user, make_character):
    settings.BEDROCK_WRITER_REGION = ""  # Claude not configured
    with pytest.raises(FilmError, match="“claude” is not offered here"):
        create_film(**brief(user, make_cast(make_character, user)))
    assert not Film.objects.exists()


def test_a_film_without_its_script_cannot_render_and_is_resent_when_its_worker_died(
    claude, user, make_character
):
    film = create_film(**brief(user, make_cast(make_character, user)))
    with pytest.raises(FilmError, match="The script is not written yet."):
        services.render_film(film=film)
    assert film in unprepared_films()
    Film.objects.filter(pk=film.pk).update(error="script: refused")
    assert film not in unprepared_films()  # waits for the person instead


def test_the_form_offers_the_configured_writers_and_the_page_says_it_writes(
    claude, user, make_character, client
):
    cast = make_cast(make_character, user)
    client.force_login(user)
    form = client.get(reverse("films:create")).content.decode()
    assert "Script written by" in form and "Claude (Bedrock)" in form
    response = client.post(
        reverse("films:create"),
        {
            "idea": "A test pilot and her cat find a map.",
            "genre": "adventure",
            "style": "natural",
            "cast": [str(c.public_id) for c in cast],
            "target_seconds": 30,
            "voice": "espeak-en-us",
            "backend": "animatic",
            "writer": "claude",
            "music_mood": "",
            "chaining": "on",
        },  # fmt: skip
        follow=True,
    )
    page = response.content.decode()
    assert "Writing the script with Claude (Bedrock)…" in page
    assert Film.objects.get().stage == SCRIPT_STAGE


def test_the_form_offers_no_writer_choice_with_the_template_alone(settings, user, client):
    settings.BEDROCK_WRITER_REGION = ""
    client.force_login(user)
    assert "Script written by" not in client.get(reverse("films:create")).content.decode()


def test_nobody_else_can_ask_for_or_replace_anothers_script(
    claude, user, other_user, make_character, client
):
    film = create_film(**brief(user, make_cast(make_character, user)))
    Film.objects.filter(pk=film.pk).update(error="script: refused")
    client.force_login(other_user)
    for name in ("films:script_retry", "films:script_template"):
        assert client.post(reverse(name, args=[film.public_id])).status_code == 404
    film.refresh_from_db()
    assert (film.error, film.scenes.count(), len(charges(film))) == ("script: refused", 0, 1)


def test_a_scene_the_model_writes_too_long_for_the_backend_is_sent_back(
    claude, user, make_character, broker, worker
):
    too_long = copy.deepcopy(GOOD)
    too_long["scenes"][2] = scene(3, ["Chelsea"], duration_seconds=75)
    film = create_film(**brief(user, make_cast(make_character, user)))
    claude.add_response("converse", claude_reply(json.dumps(too_long)))
    claude.add_response("converse", claude_reply(json.dumps(GOOD)))
    run_jobs(broker, worker)
    assert Film.objects.get(pk=film.pk).scenes.count() == 3


def test_render_film_waits_for_the_models_script_and_says_why_it_failed(
    claude, user, make_character, broker, worker
):
    make_cast(make_character, user)
    claude.add_response("converse", claude_reply("", stop="content_filtered"))
    with pytest.raises(CommandError, match="The script could not be written. script: Claude"):
        call_command(
            "render_film", "--user", user.email, "--character", "Eileen", "--idea",
            "A cat learns to fly.", "--seconds", "30", "--writer", "claude",
        )  # fmt: skip
    film = Film.objects.get()
    assert "content filters refused this idea" in film.error and film.status == "draft"
