"""Films for operators: the ``render_film`` command and the admin's film and scene lists and
actions."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from films.models import Film, Scene
from jobs.models import JobStatus
from tests.film_fixtures import make_cast, make_film

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.embedded  # the command's own output; films on each broker: test_film_cloud, faults
def test_render_film_command_renders_and_prints_progress(
    user, make_character, capsys, broker, worker, tmp_path
):
    make_cast(make_character, user)
    out = tmp_path / "film.mp4"
    call_command(
        "render_film", "--user", "alice@example.com", "--character", "eileen",
        "--character", "Chelsea", "--idea", "A cat learns to fly.", "--scenes", "3",
        "--seconds", "30", "--style", "neon", "--out", str(out),
    )  # fmt: skip
    output = capsys.readouterr().out
    assert "3 scenes" in output and "estimated cost $0.00" in output
    assert "rendering clips" in output and "1:succeeded" in output
    assert "Done: a " in output
    assert out.read_bytes()[4:8] == b"ftyp"
    assert Film.objects.get().status == JobStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--user", "nobody@example.com"], "No user with the email 'nobody@example.com'."),
        (["--character", "Zed"], "has no character called 'Zed'"),
        (["--idea", " "], "Write the idea of your film"),
        (["--genre", "opera"], "Unknown genre “opera”."),
        (["--style", "cubist"], "Unknown visual style “cubist”."),
        (["--voice", "hal"], "The voice “hal” is not installed on this site."),
        (["--scenes", "50"], "A new film has 3 to 12 scenes, not 50."),
        (["--seconds", "900"], "A film lasts 30 seconds to 10 minutes, not 900 seconds."),
        (["--writer", "gpt"], "The script writer “gpt” is not offered here (offered: template"),
    ],
)
def test_render_film_command_refuses_bad_input(user, make_character, arguments, message):
    make_cast(make_character, user)
    options = {"--user": "alice@example.com", "--character": "Eileen", "--idea": "A cat flies."}
    options.update(dict(zip(arguments[::2], arguments[1::2], strict=True)))
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("render_film", *[part for pair in options.items() for part in pair])
    assert not Film.objects.exists()


def test_admin_lists_films_and_scenes_and_cancels_and_retries(
    operator_client, user, make_character, broker
):
    from films import services

    film = make_film(user, make_cast(make_character, user), title="Night Harbour")
    Scene.objects.filter(film=film, position=1).update(error="Failed while rendering: boom")
    listing = operator_client.get(reverse("admin:films_film_changelist")).content.decode()
    assert "Night Harbour" in listing
    page = operator_client.get(reverse("admin:films_film_change", args=[film.pk])).content.decode()
    assert "Failed while rendering: boom" in page
    scenes = operator_client.get(reverse("admin:films_scene_changelist")).content.decode()
    assert scenes.count("/admin/films/scene/") >= 3

    services.render_film(film=film)
    operator_client.post(
        reverse("admin:films_film_changelist"),
        {"action": "cancel_selected", "_selected_action": [film.pk]},
    )
    film.refresh_from_db()
    assert film.status == JobStatus.CANCELED
    operator_client.post(
        reverse("admin:films_film_changelist"),
        {"action": "retry_selected", "_selected_action": [film.pk]},
    )
    film.refresh_from_db()
    assert film.status == JobStatus.QUEUED


def test_the_admin_opens_a_films_files_through_its_own_check(
    operator_client, client, user, make_character
):
    """The film page in the admin linked its video and poster to MEDIA_URL, which nothing
    serves (media is private): 404 for the operator."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from tests.support import photo_path, served_media

    film = make_film(user, make_cast(make_character, user))
    poster = photo_path("rocket.jpg").read_bytes()
    film.video = default_storage.save(f"films/{film.public_id}/f.mp4", ContentFile(b"mp4"))
    film.poster = default_storage.save(f"films/{film.public_id}/p.jpg", ContentFile(poster))
    film.save()
    page = operator_client.get(reverse("admin:films_film_change", args=[film.pk])).content.decode()
    assert "/media/" not in page
    for field, content_type, content in (
        ("video", "video/mp4", b"mp4"),
        ("poster", "image/jpeg", poster),
    ):
        link = reverse("admin:films_film_file", args=[film.pk, field])
        assert f'href="{link}"' in page
        assert served_media(operator_client.get(link)) == (content_type, content)
    assert "subtitles.vtt" not in page  # no subtitles yet: no link
    assert (
        operator_client.get(reverse("admin:films_film_file", args=[film.pk, "idea"])).status_code
        == 404
    )
    client.force_login(user)
    response = client.get(reverse("admin:films_film_file", args=[film.pk, "video"]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
