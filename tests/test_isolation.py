"""Another user can neither see, play, download, cancel, retry nor delete someone else's
characters and dreams, by page or by URL; the websocket side is in test_websocket."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from characters.models import Character
from dreams.models import Dream, DreamStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_things(user, make_character, make_dream):
    character = make_character(user, name="Eileen", photos=("astronaut.png", "chelsea.png"))
    finished = make_dream(user, character, "private moment", status=DreamStatus.SUCCEEDED)
    finished.video.save("video.mp4", ContentFile(b"\0\0\0\x20ftypisom"), save=False)
    finished.poster.save("poster.jpg", ContentFile(b"\xff\xd8\xff"), save=True)
    running = make_dream(user, character, "still going", status=DreamStatus.RUNNING)
    failed = make_dream(user, character, "went wrong", status=DreamStatus.FAILED)
    return character, finished, running, failed


@pytest.fixture
def mallory_client(client, other_user):
    client.force_login(other_user)
    return client


def test_lists_show_nothing_of_another_user(mallory_client, alices_things):
    assert "Eileen" not in mallory_client.get(reverse("characters:list")).content.decode()
    history = mallory_client.get(reverse("history:list")).content.decode()
    assert "private moment" not in history and "No dreams yet." in history


def test_character_pages_and_files_are_404(mallory_client, alices_things):
    character = alices_things[0]
    image = character.ordered_images()[0]
    key = character.public_id
    for url in (
        reverse("characters:detail", args=[key]),
        reverse("characters:delete", args=[key]),
        reverse("characters:image_file", args=[key, image.id, "full"]),
        reverse("characters:image_file", args=[key, image.id, "thumb"]),
    ):
        assert mallory_client.get(url).status_code == 404, url


def test_character_changes_are_404_and_change_nothing(mallory_client, alices_things):
    character = alices_things[0]
    image = character.ordered_images()[0]
    key = character.public_id
    posts = {
        reverse("characters:detail", args=[key]): {"details-name": "Stolen"},
        reverse("characters:delete", args=[key]): {},
        reverse("characters:image_remove", args=[key, image.id]): {},
        reverse("characters:image_move", args=[key, image.id]): {"direction": "down"},
        reverse("characters:image_add", args=[key]): {},
    }
    for url, data in posts.items():
        assert mallory_client.post(url, data).status_code == 404, url
    character.refresh_from_db()
    assert character.name == "Eileen"
    assert [i.original_name for i in character.ordered_images()] == ["astronaut.png", "chelsea.png"]


def test_image_of_own_character_cannot_be_reached_through_another_characters_url(
    mallory_client, other_user, alices_things, make_character
):
    own = make_character(other_user, name="Decoy")
    alices_image = alices_things[0].ordered_images()[0]
    url = reverse("characters:image_file", args=[own.public_id, alices_image.id, "full"])
    assert mallory_client.get(url).status_code == 404


def test_dream_pages_files_and_actions_are_404(mallory_client, alices_things):
    _, finished, running, failed = alices_things
    for dream in (finished, running, failed):
        key = dream.public_id
        for url in (
            reverse("dreams:detail", args=[key]),
            reverse("dreams:video", args=[key]),
            reverse("dreams:video", args=[key]) + "?download=1",
            reverse("dreams:poster", args=[key]),
            reverse("dreams:delete", args=[key]),
        ):
            assert mallory_client.get(url).status_code == 404, url
    assert (
        mallory_client.post(reverse("dreams:cancel", args=[running.public_id])).status_code == 404
    )
    assert mallory_client.post(reverse("dreams:retry", args=[failed.public_id])).status_code == 404
    assert (
        mallory_client.post(reverse("dreams:delete", args=[finished.public_id])).status_code == 404
    )
    statuses = dict(Dream.objects.values_list("prompt", "status"))
    assert statuses == {
        "private moment": "succeeded",
        "still going": "running",
        "went wrong": "failed",
    }
    assert Character.objects.count() == 1


def test_signed_out_visitor_is_sent_to_log_in(client, alices_things):
    _, finished, _, _ = alices_things
    for url in (
        reverse("dreams:video", args=[finished.public_id]),
        reverse("characters:list"),
        reverse("dreams:create"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_admin_thumbnail_is_for_staff_only(mallory_client, alices_things):
    image = alices_things[0].ordered_images()[0]
    url = reverse("admin:characters_referenceimage_thumbnail", args=[image.id])
    response = mallory_client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
