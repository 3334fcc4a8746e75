"""Another user gets a 404 for every page, action and file of someone else's film and its
scenes, and no film or scene event over the websocket."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.core.files.base import ContentFile
from django.urls import reverse

from dreamsite.routing import application
from films.models import Film, Scene
from jobs.events import publish
from jobs.models import JobStatus
from tests.film_fixtures import make_cast, make_film
from tests.jobs.test_websocket import receive_events, session_headers
from tests.support import served_media

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_film(user, make_character):
    film = make_film(user, make_cast(make_character, user), title="Private Harbour")
    for field, name in (
        ("video", "film.mp4"),
        ("poster", "poster.jpg"),
        ("subtitles_vtt", "s.vtt"),
        ("subtitles_srt", "s.srt"),
    ):
        getattr(film, field).save(name, ContentFile(b"private"), save=False)
    film.status = JobStatus.SUCCEEDED
    film.save()
    scene = film.scenes.order_by("position").first()
    for field in ("first_keyframe", "last_keyframe", "thumbnail", "clip", "narration_audio"):
        getattr(scene, field).save(f"{field}.bin", ContentFile(b"private"), save=False)
    scene.save()
    return film, scene


def test_every_film_page_action_and_file_is_404_to_another_user(client, other_user, alices_film):
    film, scene = alices_film
    client.force_login(other_user)
    key, sid = film.public_id, scene.public_id
    pages = [
        reverse("films:detail", args=[key]),
        reverse("films:delete", args=[key]),
        reverse("films:video", args=[key]),
        reverse("films:poster", args=[key]),
        reverse("films:subtitles", args=[key, "vtt"]),
        reverse("films:subtitles", args=[key, "srt"]),
        *(
            reverse("films:scene_file", args=[key, sid, field])
            for field in ("first_keyframe", "last_keyframe", "thumbnail", "clip", "narration_audio")
        ),
    ]
    for url in pages:
        assert client.get(url).status_code == 404, url
    actions = [
        reverse("films:render", args=[key]),
        reverse("films:cancel", args=[key]),
        reverse("films:retry", args=[key]),
        reverse("films:delete", args=[key]),
        reverse("films:scene_add", args=[key]),
        reverse("films:scene_update", args=[key, sid]),
        reverse("films:scene_move", args=[key, sid]),
        reverse("films:scene_delete", args=[key, sid]),
        reverse("films:scene_reroll", args=[key, sid]),
        reverse("films:scene_rerender", args=[key, sid]),
    ]
    for url in actions:
        assert client.post(url, {"direction": "up"}).status_code == 404, url
    assert Film.objects.filter(pk=film.pk, status=JobStatus.SUCCEEDED).exists()
    assert Scene.objects.filter(film=film).count() == 3
    listing = client.get(reverse("films:list")).content.decode()
    assert "Private Harbour" not in listing and "No films yet." in listing
    assert "Private Harbour" not in client.get(reverse("history:list")).content.decode()


def test_the_owner_gets_the_same_urls(client, user, alices_film):
    film, scene = alices_film
    client.force_login(user)
    assert client.get(reverse("films:detail", args=[film.public_id])).status_code == 200
    assert "Private Harbour" in client.get(reverse("history:list")).content.decode()
    url = reverse("films:scene_file", args=[film.public_id, scene.public_id, "thumbnail"])
    assert served_media(client.get(url))[1] == b"private"
    # Subtitles come from the portal itself on any storage: a <track> needs the same origin.
    vtt = client.get(reverse("films:subtitles", args=[film.public_id, "vtt"]))
    assert vtt.status_code == 200 and vtt["Content-Type"] == "text/vtt; charset=utf-8"
    assert vtt.content == b"private"


# Channels closes the thread's connection after each message: these tests commit.
@pytest.mark.django_db(transaction=True)
def test_no_film_or_scene_event_reaches_another_user(client, user, other_user, alices_film):
    film, scene = alices_film
    headers = session_headers(client, other_user)

    @async_to_sync
    async def listen():
        communicator = WebsocketCommunicator(application, "/ws/jobs/", headers=headers)
        assert (await communicator.connect())[0]
        await asyncio.to_thread(publish, film)
        await asyncio.to_thread(publish, scene)
        await communicator.send_json_to(
            {"type": "sync", "jobs": [{"kind": "film", "id": str(film.public_id)},
                                      {"kind": "scene", "id": str(scene.public_id)}]}
        )  # fmt: skip
        events = await receive_events(communicator, 0)
        await communicator.disconnect()
        return events

    assert listen() == []


@pytest.mark.django_db(transaction=True)
def test_the_owner_receives_film_and_scene_events(client, user, alices_film):
    film, scene = alices_film
    headers = session_headers(client, user)

    @async_to_sync
    async def listen():
        communicator = WebsocketCommunicator(application, "/ws/jobs/", headers=headers)
        assert (await communicator.connect())[0]
        await asyncio.to_thread(publish, scene)
        await asyncio.to_thread(publish, film)
        events = await receive_events(communicator, 2)
        await communicator.disconnect()
        return events

    events = listen()
    assert [(e["kind"], e["id"]) for e in events] == [
        ("scene", str(scene.public_id)),
        ("film", str(film.public_id)),
    ]
    assert events[0]["film_id"] == str(film.public_id) and events[0]["thumbnail_url"]
    assert events[1]["subtitles_url"].split("?")[0].endswith("subtitles.vtt")
