"""A language model changes a written storyboard (Claude on Bedrock, stubbed with botocore's
Stubber): "Rewrite" one scene with an instruction, the whole script, or "Continue" with a new
last scene. Only what was asked changes, whatever else the model's reply altered; the changed
scenes' keyframes and narration are made again; every bad request is refused with nothing
saved; nobody else can ask for a rewrite of someone's film."""

from __future__ import annotations

import copy
import json

import pytest
from django.urls import reverse

from films import services
from films.errors import FilmError
from films.models import Film, Scene
from films.revisions import ask_revision, current_script
from jobs.models import Charge, ChargeStatus
from tests.film_fixtures import make_cast, make_film
from tests.generation.test_script_writers import claude_reply
from tests.support import run_jobs

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def film(claude, user, make_character, broker, worker):
    """A three-scene film written by the template, its storyboard prepared."""
    made = make_film(user, make_cast(make_character, user))
    run_jobs(broker, worker)
    return Film.objects.get(pk=made.pk)


def scene_texts(film):
    return [
        (s.heading, s.narration, s.keyframes_key, s.narration_key)
        for s in film.scenes.order_by("position")
    ]


def sent_requests(claude):
    sent = []
    claude.client.meta.events.register(
        "before-parameter-build.bedrock-runtime.Converse",
        lambda params, **_: sent.append(copy.deepcopy(params)),
    )
    return sent


@pytest.mark.seam  # the rewrite's message, its locked apply and its charge on each set-up
def test_rewriting_one_scene_changes_only_it(film, claude, broker, worker):
    before = scene_texts(film)
    reply = current_script(film)
    for scene in reply["scenes"]:  # the model also "improved" the others: they are kept
        scene["narration"] = "Then the map spoke, and everyone laughed."
    reply["scenes"][1]["heading"] = "EXT. PIER - NIGHT"
    reply["scenes"][1]["last_frame"] = "The pilot laughs on the pier, the map upside down."
    claude.add_response("converse", claude_reply(json.dumps(reply), tokens=(3000, 1200)))
    sent = sent_requests(claude)
    second = film.scenes.get(position=1)

    ask_revision(film=film, scope="scene", scene=second, instruction="make it funnier")
    run_jobs(broker, worker)

    after = scene_texts(film)
    assert after[0] == before[0] and after[2] == before[2]
    assert after[1][:2] == ("EXT. PIER - NIGHT", "Then the map spoke, and everyone laughed.")
    # Its keyframes and narration were made again for the new text.
    assert after[1][2] != before[1][2] and after[1][3] != before[1][3]
    asked = sent[0]["messages"][0]["content"][0]["text"]
    assert "Rewrite scene 2 only" in asked and "The director asks: make it funnier" in asked
    assert json.dumps(current_script(Film.objects.get(pk=film.pk))["title"]) in asked
    film.refresh_from_db()
    assert (film.revision_scope, film.error) == ("", "")
    [charge] = Charge.objects.filter(job_id=film.pk)
    assert charge.status == ChargeStatus.SETTLED and charge.quantity == 4200


def test_continuing_adds_one_scene_after_the_last(film, claude, broker, worker):
    before = scene_texts(film)
    reply = current_script(film)
    reply["scenes"][0]["heading"] = "CHANGED"  # ignored: the first three stay as they were
    reply["scenes"].append({**reply["scenes"][-1], "heading": "EXT. LIGHTHOUSE - DAWN"})
    claude.add_response("converse", claude_reply(json.dumps(reply)))
    sent = sent_requests(claude)

    ask_revision(film=film, scope="continue")
    run_jobs(broker, worker)

    after = scene_texts(film)
    assert after[:3] == before and after[3][0] == "EXT. LIGHTHOUSE - DAWN"
    assert film.scenes.get(position=3).first_keyframe
    assert (
        "Add scene 4, which follows on from scene 3" in sent[0]["messages"][0]["content"][0]["text"]
    )


def test_rewriting_the_script_changes_every_scene(film, claude, broker, worker):
    reply = current_script(film)
    for number, scene in enumerate(reply["scenes"], start=1):
        scene["heading"] = f"INT. SHIP {number} - NIGHT"
    reply["logline"] = "At sea, the map finally tells the truth."
    claude.add_response("converse", claude_reply(json.dumps(reply)))

    ask_revision(film=film, scope="script", instruction="set it all at sea")
    run_jobs(broker, worker)

    film.refresh_from_db()
    assert [s.heading for s in film.scenes.order_by("position")] == [
        "INT. SHIP 1 - NIGHT", "INT. SHIP 2 - NIGHT", "INT. SHIP 3 - NIGHT"
    ]  # fmt: skip
    assert film.logline == "At sea, the map finally tells the truth."


def test_a_rewrite_that_fails_says_why_and_keeps_the_storyboard(film, claude, broker, worker):
    before = scene_texts(film)
    claude.add_response("converse", claude_reply("", stop="content_filtered"))
    ask_revision(film=film, scope="script", instruction="make it gory")
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert "content filters refused this idea" in film.error and film.revision_scope == ""
    assert scene_texts(film) == before


@pytest.mark.parametrize(
    "asked, message",
    [
        ({"scope": "scene", "instruction": " "}, "Say what to change"),
        ({"scope": "script", "instruction": "x" * 501}, "keep it under 500"),
        ({"scope": "scene", "instruction": "funnier"}, "Choose one of this film's scenes"),
        ({"scope": "sequel", "instruction": "funnier"}, "Unknown revision “sequel”."),
    ],
)
def test_bad_requests_are_refused_with_nothing_saved(film, asked, message):
    with pytest.raises(FilmError, match=message):
        ask_revision(film=film, **asked)
    film.refresh_from_db()
    assert film.revision_scope == "" and not Charge.objects.exists()


def test_no_rewrite_without_a_model_nor_while_one_is_written(film, settings, user, make_character):
    other_film = make_film(user, [make_character(user, name="Zed")])
    with pytest.raises(FilmError, match="Choose one of this film's scenes"):
        ask_revision(film=film, scope="scene", scene=other_film.scenes.first(), instruction="x")
    Film.objects.filter(pk=film.pk).update(revision_scope="script", revision_instruction="x")
    film.refresh_from_db()
    with pytest.raises(FilmError, match="being written; wait"):
        ask_revision(film=film, scope="continue")
    scene = film.scenes.first()
    with pytest.raises(FilmError, match="rewriting the script; wait until it is done to edit it"):
        services.update_scene(
            scene=scene, heading="H", shot="S", narration="N", first_frame_text="F",
            last_frame_text="L", framing="wide", transition="cut",
        )  # fmt: skip
    with pytest.raises(FilmError, match="rewriting the script; wait until it is done"):
        services.render_film(film=film)
    settings.BEDROCK_WRITER_REGION = ""
    Film.objects.filter(pk=film.pk).update(revision_scope="")
    film.refresh_from_db()
    with pytest.raises(FilmError, match="No language model is offered"):
        ask_revision(film=film, scope="continue")


def test_the_page_offers_rewrites_and_nobody_else_can_ask(
    film,
    claude,
    user,
    other_user,
    client,
    settings,
    broker,
    worker,
):
    client.force_login(user)
    page = client.get(reverse("films:detail", args=[film.public_id])).content.decode()
    assert "Rewrite the script" in page and "Rewrite scene 2 with Claude (Bedrock)" in page
    scene = film.scenes.get(position=0)
    client.force_login(other_user)
    response = client.post(
        reverse("films:script_revise", args=[film.public_id]),
        {"scope": "scene", "scene": str(scene.public_id), "instruction": "ruin it"},
    )
    assert response.status_code == 404
    assert Film.objects.get(pk=film.pk).revision_scope == "" and not Charge.objects.exists()

    reply = current_script(film)
    reply["scenes"][0]["heading"] = "EXT. WINDY CLIFF - DAY"
    claude.add_response("converse", claude_reply(json.dumps(reply)))
    client.force_login(user)
    response = client.post(
        reverse("films:script_revise", args=[film.public_id]),
        {"scope": "scene", "scene": str(scene.public_id), "instruction": "more wind"},
        follow=True,
    )
    assert "Scene 1 is being rewritten" in response.content.decode()
    run_jobs(broker, worker)
    assert Scene.objects.get(pk=scene.pk).heading == "EXT. WINDY CLIFF - DAY"

    # While a rewrite is written the page says so and offers no other.
    Film.objects.filter(pk=film.pk).update(revision_scope="scene", revision_scene=scene.public_id)
    page = client.get(reverse("films:detail", args=[film.public_id])).content.decode()
    assert "Rewriting scene 1 with Claude (Bedrock)…" in page and "Rewrite the script" not in page
    settings.BEDROCK_WRITER_REGION = ""
    Film.objects.filter(pk=film.pk).update(revision_scope="")
    page = client.get(reverse("films:detail", args=[film.public_id])).content.decode()
    assert "Rewrite" not in page
