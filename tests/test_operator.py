"""What an operator sees and does: the admin's lists, filters, actions and the failure reason,
and the ``render_dream`` command."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from dreams.models import Dream, DreamStatus
from tests.support import queue_size, served_media, stored_bytes


@pytest.fixture
def operator_client(client, django_user_model):
    operator = django_user_model.objects.create_superuser(
        email="ops@example.com", password="operator password 1"
    )
    client.force_login(operator)
    return client


@pytest.fixture
def failed_dream(make_dream):
    def make(owner, character) -> Dream:
        return make_dream(
            owner,
            character,
            "a broken one",
            status=DreamStatus.FAILED,
            stage="rendering",
            error="The video encoder failed: broken pipe",
        )

    return make


@pytest.mark.django_db
def test_admin_lists_dreams_with_reason_and_filters(
    operator_client, user, make_character, failed_dream
):
    dream = failed_dream(user, make_character(user))
    listing = operator_client.get(reverse("admin:dreams_dream_changelist")).content.decode()
    for column in ("alice@example.com", "Failed", "rendering", "animatic", "0%"):
        assert column in listing
    filtered = operator_client.get(reverse("admin:dreams_dream_changelist") + "?status=succeeded")
    assert str(dream.public_id) not in filtered.content.decode()
    found = operator_client.get(reverse("admin:dreams_dream_changelist") + "?q=alice@example")
    assert str(dream.public_id) in found.content.decode()
    detail = operator_client.get(reverse("admin:dreams_dream_change", args=[dream.pk]))
    assert "The video encoder failed: broken pipe" in detail.content.decode()


@pytest.mark.django_db
def test_admin_character_shows_image_thumbnails(operator_client, user, make_character):
    character = make_character(user, photos=("astronaut.png", "rocket.jpg"))
    page = operator_client.get(reverse("admin:characters_character_change", args=[character.pk]))
    assert page.content.decode().count("/thumbnail/") == 2
    image = character.ordered_images()[0]
    thumb = operator_client.get(
        reverse("admin:characters_referenceimage_thumbnail", args=[image.pk])
    )
    content_type, thumbnail = served_media(thumb)
    assert content_type == "image/jpeg" and thumbnail == stored_bytes(image.thumbnail)


@pytest.mark.django_db(transaction=True)
def test_admin_retry_and_cancel_actions(
    operator_client, user, make_character, broker, failed_dream
):
    character = make_character(user)
    dream = failed_dream(user, character)
    changelist = reverse("admin:dreams_dream_changelist")
    response = operator_client.post(
        changelist, {"action": "retry_selected", "_selected_action": [dream.pk]}, follow=True
    )
    assert "Queued again 1 dream(s)." in response.content.decode()
    dream.refresh_from_db()
    assert (dream.status, dream.error) == (DreamStatus.QUEUED, "")
    assert queue_size(broker, "media") == 1

    response = operator_client.post(
        changelist, {"action": "cancel_selected", "_selected_action": [dream.pk]}, follow=True
    )
    assert "Cancelled 1 dream(s)." in response.content.decode()
    response = operator_client.post(
        changelist, {"action": "cancel_selected", "_selected_action": [dream.pk]}, follow=True
    )
    assert "This dream has already been cancelled." in response.content.decode()


@pytest.mark.django_db
def test_admin_names_the_site_it_runs(operator_client):
    page = operator_client.get(reverse("admin:index")).content.decode()
    assert "<title>Operations | Dreamsite admin</title>" in page
    assert ">Dreamsite administration</a>" in page
    assert "Django administration" not in page
    # The operations pages come before the models, and no two apps share a heading.
    assert page.index(reverse("admin:jobs_spend")) < page.index("Models in the")
    assert page.count('title="Models in the Accounts application"') == 1
    assert 'title="Models in the Users application"' in page


@pytest.mark.django_db
def test_admin_lists_users(operator_client, user):
    page = operator_client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "alice@example.com" in page


@pytest.mark.django_db(transaction=True)
def test_render_dream_command_renders_and_prints_progress(
    user, make_character, capsys, broker, worker
):
    # ``worker`` plays the worker processes of a production site; in the embedded mode the
    # command also runs its own.
    make_character(user, name="Eileen")
    call_command(
        "render_dream",
        "--user",
        "alice@example.com",
        "--character",
        "eileen",
        "--prompt",
        "Eileen waves",
        "--seed",
        "3",
    )
    output = capsys.readouterr().out
    assert "queued on animatic (seed 3)" in output
    assert "Running: rendering" in output
    assert "Done: 6.0 s video stored as dreams/" in output
    assert Dream.objects.get().status == DreamStatus.SUCCEEDED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--user", "nobody@example.com"], "No user with the email 'nobody@example.com'."),
        (["--character", "Nobody"], "has no character called 'Nobody' (their characters: Eileen)"),
        (["--backend", "nova-reel"], "The backend “nova-reel” is not available."),
        (["--prompt", " "], "Write a prompt: what should the character do?"),
        (["--prompt", "x" * 513], "The prompt is 513 characters;"),
    ],
)
def test_render_dream_command_refuses_bad_input(user, make_character, arguments, message):
    make_character(user, name="Eileen")
    options = {
        "--user": "alice@example.com",
        "--character": "Eileen",
        "--prompt": "Eileen waves",
    }
    options.update(dict(zip(arguments[::2], arguments[1::2], strict=True)))
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("render_dream", *[part for pair in options.items() for part in pair])
    assert not Dream.objects.exists()


@pytest.mark.django_db
def test_admin_opens_a_dreams_video_and_poster(operator_client, user, make_dream):
    """The admin's links used to point at the unrouted media URL (a 404)."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from tests.support import photo_path

    dream = make_dream(user, status=DreamStatus.SUCCEEDED)
    poster = photo_path("rocket.jpg").read_bytes()
    dream.video = default_storage.save(f"dreams/{dream.public_id}/v.mp4", ContentFile(b"mp4"))
    dream.poster = default_storage.save(f"dreams/{dream.public_id}/p.jpg", ContentFile(poster))
    dream.save()
    page = operator_client.get(reverse("admin:dreams_dream_change", args=[dream.pk]))
    for field, content_type, content in (
        ("video", "video/mp4", b"mp4"),
        ("poster", "image/jpeg", poster),
    ):
        link = reverse("admin:dreams_dream_file", args=[dream.pk, field])
        assert f'href="{link}"' in page.content.decode()
        assert served_media(operator_client.get(link)) == (content_type, content)
    assert (
        operator_client.get(
            reverse("admin:dreams_dream_file", args=[dream.pk, "owner"])
        ).status_code
        == 404
    )


@pytest.mark.django_db
def test_a_user_who_is_not_staff_cannot_open_a_dreams_file_in_the_admin(client, user, make_dream):
    dream = make_dream(user, status=DreamStatus.SUCCEEDED)
    client.force_login(user)
    response = client.get(reverse("admin:dreams_dream_file", args=[dream.pk, "video"]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_admin_shows_no_task_list_that_is_always_empty(operator_client):
    page = operator_client.get(reverse("admin:index")).content.decode()
    assert "django_dramatiq" not in page and "Tasks</a>" not in page
