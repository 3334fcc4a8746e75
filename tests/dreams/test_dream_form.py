"""Asking for a dream: the form offers only the user's own characters and configured backends,
and refuses bad input with a clear message and nothing saved."""

import pytest
from django.urls import reverse

from characters.models import Character
from dreams.models import Dream, DreamStatus
from tests.support import queue_size

pytestmark = pytest.mark.django_db


def post_dream(client, character, prompt="Eileen floats through the station", **extra):
    data = {
        "character": str(character.public_id),
        "prompt": prompt,
        "backend": "animatic",
        "duration": "6",
        "aspect_ratio": "16:9",
    }
    data.update(extra)
    return client.post(reverse("dreams:create"), data)


def test_form_shows_own_characters_with_thumbnails_and_backends(
    alice_client, user, other_user, make_character
):
    mine = make_character(user, name="Eileen")
    make_character(other_user, name="Secret Agent")
    page = alice_client.get(reverse("dreams:create")).content.decode()
    assert "Eileen" in page and str(mine.public_id) in page
    assert "Secret Agent" not in page
    assert f"/characters/{mine.public_id}/images/" in page
    assert 'value="animatic"' in page
    assert 'id="prompt-count"' in page
    # The animatic is free, and the page says so before anything is submitted.
    assert 'Estimated cost: <strong id="cost-value">$0.00</strong>' in page


@pytest.mark.parametrize("form", ["dreams:create", "films:create"])
def test_form_without_characters_points_to_creating_one(alice_client, user, form):
    # A character without photos counts as none.
    Character.objects.create(owner=user, name="Empty")
    page = alice_client.get(reverse(form)).content.decode()
    assert "You need a character with at least one photo first." in page
    assert f'href="{reverse("characters:create")}"' in page


def test_valid_dream_is_queued_and_enqueued_after_commit(
    alice_client, user, make_character, broker, django_capture_on_commit_callbacks
):
    character = make_character(user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_dream(alice_client, character, seed="42")
    dream = Dream.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dreams:detail", args=[dream.public_id])
    assert (dream.status, dream.seed, dream.backend) == (DreamStatus.QUEUED, 42, "animatic")
    # Nothing reaches the broker until the row is committed.
    assert queue_size(broker, "media") == 0
    for callback in callbacks:
        callback()
    assert queue_size(broker, "media") == 1


def test_513_character_prompt_is_refused(alice_client, user, make_character):
    response = post_dream(alice_client, make_character(user), prompt="a" * 513)
    assert response.status_code == 400
    assert (
        "The prompt is 513 characters; Animatic (offline preview, free) accepts at most 512 "
        "for a 6 s clip." in response.content.decode()
    )
    assert not Dream.objects.exists()


def test_512_character_prompt_is_accepted(alice_client, user, make_character):
    response = post_dream(alice_client, make_character(user), prompt="é" * 512)
    assert response.status_code == 302
    assert len(Dream.objects.get().prompt) == 512


def test_empty_prompt_is_refused(alice_client, user, make_character):
    response = post_dream(alice_client, make_character(user), prompt="   ")
    assert response.status_code == 400
    assert "Write a prompt: what should the character do?" in response.content.decode()
    assert not Dream.objects.exists()


@pytest.mark.parametrize(
    "prompt",
    ["\u200b\u200b\u200d", "\x07\x1b\x7f", "\u00a0\u200b\ufeff\u2060", "\u202e\u200f "],
    ids=["zero-width", "control", "invisible-spaces", "direction-marks"],
)
def test_a_prompt_of_only_invisible_characters_is_refused(
    alice_client, user, make_character, prompt
):
    response = post_dream(alice_client, make_character(user), prompt=prompt)
    assert response.status_code == 400
    assert "Spaces and invisible characters alone are not a prompt." in response.content.decode()
    assert not Dream.objects.exists()


def test_control_characters_are_dropped_from_a_real_prompt(alice_client, user, make_character):
    response = post_dream(alice_client, make_character(user), prompt="Eileen\x07 waves\x1b")
    assert response.status_code == 302
    assert Dream.objects.get().prompt == "Eileen waves"


def test_a_malformed_character_id_gets_a_plain_message(alice_client, user, make_character):
    character = make_character(user)
    data = {
        "prompt": "Eileen waves",
        "backend": "animatic",
        "duration": "6",
        "aspect_ratio": "16:9",
    }
    response = alice_client.post(reverse("dreams:create"), {**data, "character": "not-a-uuid"})
    assert character.name in response.content.decode()  # the form is shown again
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose one of your characters." in page
    assert "UUID" not in page
    assert not Dream.objects.exists()


def test_another_users_character_is_refused(alice_client, user, other_user, make_character):
    make_character(user, name="Eileen")
    theirs = make_character(other_user, name="Secret Agent")
    response = post_dream(alice_client, theirs)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose one of your characters." in page
    assert "Secret Agent" not in page
    assert not Dream.objects.exists()


def test_unconfigured_backend_is_refused(alice_client, user, make_character):
    response = post_dream(alice_client, make_character(user), backend="nova-reel")
    assert response.status_code == 400
    assert "Select a valid choice. nova-reel is not one of the available choices." in (
        response.content.decode()
    )
    assert not Dream.objects.exists()


def test_seed_out_of_range_is_refused(alice_client, user, make_character):
    response = post_dream(alice_client, make_character(user), seed="2147483647")
    assert response.status_code == 400
    assert "Ensure this value is less than or equal to 2147483646." in response.content.decode()
    assert not Dream.objects.exists()


def test_service_refuses_another_users_character(user, other_user, make_character):
    from dreams.services import DreamError, create_dream

    with pytest.raises(DreamError, match="Choose one of your characters."):
        create_dream(
            owner=user,
            character=make_character(other_user),
            prompt="anything",
            backend="animatic",
        )
    assert not Dream.objects.exists()


def test_the_same_submission_sent_twice_makes_one_dream(
    alice_client, user, make_character, broker, django_capture_on_commit_callbacks
):
    """A resent POST (the browser's "resubmit", a flaky network retrying) carries the key the
    form was shown with: the second gets the first's dream, and only one job is queued."""
    character = make_character(user)
    page = alice_client.get(reverse("dreams:create")).content.decode()
    key = page.split('name="submission" value="')[1].split('"')[0]
    with django_capture_on_commit_callbacks(execute=True):
        first = post_dream(alice_client, character, submission=key)
    with django_capture_on_commit_callbacks(execute=True):
        again = post_dream(alice_client, character, submission=key)
    dream = Dream.objects.get()
    assert first.status_code == again.status_code == 302
    assert (
        first["Location"] == again["Location"] == reverse("dreams:detail", args=[dream.public_id])
    )
    assert queue_size(broker, "media") == 1


def test_two_presses_of_two_forms_make_two_dreams(alice_client, user, make_character):
    character = make_character(user)
    keys = [
        alice_client.get(reverse("dreams:create"))
        .content.decode()
        .split('name="submission" value="')[1]
        .split('"')[0]
        for _ in range(2)
    ]
    assert keys[0] != keys[1]
    for key in keys:
        assert post_dream(alice_client, character, submission=key).status_code == 302
    assert Dream.objects.count() == 2
