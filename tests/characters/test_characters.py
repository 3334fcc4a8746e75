"""Managing a character: edit, add, remove and reorder photos, delete; and the limit of three
photos holding even when two uploads race for the last slot."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from characters.models import Character, ReferenceImage
from characters.services import CharacterError, add_reference_images
from tests.support import photo_upload, stored_files


def image_names(character) -> list[str]:
    return [
        image.original_name for image in Character.objects.get(pk=character.pk).ordered_images()
    ]


@pytest.mark.django_db
def test_character_page_lists_photos_and_renames(alice_client, user, make_character):
    character = make_character(user, photos=("astronaut.png", "chelsea.png"))
    page = alice_client.get(reverse("characters:detail", args=[character.public_id]))
    assert page.status_code == 200
    assert page.content.decode().count("/thumb.jpg") == 2

    response = alice_client.post(
        reverse("characters:detail", args=[character.public_id]),
        {"details-name": "Commander Collins", "details-description": "First woman to pilot."},
    )
    assert response.status_code == 302
    character.refresh_from_db()
    assert character.name == "Commander Collins"


@pytest.mark.django_db
def test_duplicate_name_is_refused(alice_client, user, make_character):
    make_character(user, name="Eileen")
    response = alice_client.post(
        reverse("characters:create"),
        {"name": "eileen", "description": "", "images": [photo_upload("chelsea.png")]},
    )
    assert response.status_code == 400
    assert "You already have a character called “eileen”." in response.content.decode()
    assert Character.objects.count() == 1


@pytest.mark.django_db
def test_rename_to_a_taken_name_is_refused_and_keeps_the_old_name(
    alice_client, user, make_character
):
    make_character(user, name="Eileen")
    other = make_character(user, name="Chelsea", photos=("chelsea.png",))
    response = alice_client.post(
        reverse("characters:detail", args=[other.public_id]),
        {"details-name": "EILEEN", "details-description": ""},
    )
    assert response.status_code == 400
    assert "You already have a character called “EILEEN”." in response.content.decode()
    other.refresh_from_db()
    assert other.name == "Chelsea"


@pytest.mark.django_db
def test_add_remove_and_reorder_photos(
    alice_client, user, make_character, media_root, django_capture_on_commit_callbacks
):
    character = make_character(user, photos=("astronaut.png",))
    response = alice_client.post(
        reverse("characters:image_add", args=[character.public_id]),
        {"add-images": [photo_upload("chelsea.png"), photo_upload("coffee.png")]},
    )
    assert response.status_code == 302
    assert image_names(character) == ["astronaut.png", "chelsea.png", "coffee.png"]

    coffee = ReferenceImage.objects.get(original_name="coffee.png")
    alice_client.post(
        reverse("characters:image_move", args=[character.public_id, coffee.id]),
        {"direction": "up"},
    )
    assert image_names(character) == ["astronaut.png", "coffee.png", "chelsea.png"]

    astronaut = ReferenceImage.objects.get(original_name="astronaut.png")
    removed_files = {astronaut.image.name, astronaut.thumbnail.name}
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(
            reverse("characters:image_remove", args=[character.public_id, astronaut.id])
        )
    assert image_names(character) == ["coffee.png", "chelsea.png"]
    assert [image.position for image in character.ordered_images()] == [0, 1]
    assert not removed_files & {str(path) for path in stored_files()}


@pytest.mark.django_db
def test_fourth_photo_is_refused(alice_client, user, make_character, media_root):
    character = make_character(user, photos=("astronaut.png", "chelsea.png", "coffee.png"))
    before = stored_files()
    response = alice_client.post(
        reverse("characters:image_add", args=[character.public_id]),
        {"add-images": [photo_upload("rocket.jpg")]},
    )
    assert response.status_code == 400
    assert "A character has at most 3 reference images" in response.content.decode()
    assert character.images.count() == 3
    assert stored_files() == before


@pytest.mark.django_db
def test_last_photo_cannot_be_removed(alice_client, user, make_character):
    character = make_character(user)
    image = character.images.get()
    response = alice_client.post(
        reverse("characters:image_remove", args=[character.public_id, image.id]), follow=True
    )
    assert "A character needs at least one reference image" in response.content.decode()
    assert character.images.count() == 1


@pytest.mark.django_db(transaction=True)
def test_delete_character_removes_its_files(alice_client, user, make_character, media_root):
    character = make_character(user, photos=("astronaut.png", "rocket.jpg"))
    assert len(stored_files()) == 4
    confirm = alice_client.get(reverse("characters:delete", args=[character.public_id]))
    assert "Its photos are deleted too." in confirm.content.decode()
    response = alice_client.post(reverse("characters:delete", args=[character.public_id]))
    assert response.status_code == 302
    assert not Character.objects.exists()
    assert ReferenceImage.objects.count() == 0
    assert stored_files() == []


@pytest.mark.django_db(transaction=True)
def test_two_uploads_racing_for_the_last_slot_leave_three_photos(user, make_character, media_root):
    character = make_character(user, photos=("astronaut.png", "chelsea.png"))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def upload(name: str) -> None:
        try:
            barrier.wait()
            add_reference_images(character=character, uploads=[photo_upload(name)])
            outcomes.append("added")
        except CharacterError as error:
            outcomes.append(error.message)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=upload, args=(name,)) for name in ("coffee.png", "rocket.jpg")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("added") == 1
    refused = [outcome for outcome in outcomes if outcome != "added"]
    assert len(refused) == 1 and "remove one before adding another" in refused[0]
    assert ReferenceImage.objects.filter(character=character).count() == 3
    # The loser wrote nothing: 3 images and 3 thumbnails.
    assert len(stored_files()) == 6


@pytest.mark.django_db(transaction=True)
def test_two_creates_racing_for_one_name_leave_one_character(user, media_root):
    from characters.services import create_character

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create(photo: str) -> None:
        try:
            barrier.wait()
            create_character(owner=user, name="Twin", description="", uploads=[photo_upload(photo)])
            outcomes.append("created")
        except CharacterError as error:
            outcomes.append(error.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(p,)) for p in ("coffee.png", "rocket.jpg")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["You already have a character called “Twin”.", "created"]
    assert Character.objects.filter(owner=user).count() == 1
    assert len(stored_files()) == 2
