"""A film meets hostile input and bad timing: ideas and narrations that look like SQL or
program options, a brief as long as the form allows, a step that fails in a way nobody foresaw,
a delete while a worker renders, and two workers making the same scene's keyframes. Each
leaves a film that says what happened, and no file the film's rows do not name."""

from pathlib import Path, PurePosixPath

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from films import clips, keyframes, music, narration, pieces, pipeline, services, storyboard
from films.files import FILM_FILE_FIELDS, SCENE_FILE_FIELDS
from films.models import Film, Scene
from jobs.models import ACTIVE_STATUSES, JobStatus
from tests.film_fixtures import make_cast, make_film
from tests.support import probe_video, run_jobs, stored_bytes, stored_files

pytestmark = pytest.mark.django_db(transaction=True)

LONG_IDEA = (
    "A lighthouse keeper who has not left her island in forty years finds a message in a "
    "bottle, written in her own hand and dated next winter. "
) * 13


def named_files(film: Film) -> set[PurePosixPath]:
    """Every file the film's rows point at."""
    names = {getattr(film, f).name for f in FILM_FILE_FIELDS}
    for scene in film.scenes.all():
        names |= {getattr(scene, f).name for f in SCENE_FILE_FIELDS}
    return {PurePosixPath(name) for name in names if name}


# Only the SQL-looking idea is about the database: the others run in the embedded pass only.
@pytest.mark.parametrize(
    "idea",
    [
        "'; DROP TABLE films_film; -- OR 1=1",
        pytest.param("-f/etc/passwd --version", marks=pytest.mark.embedded),
        pytest.param(LONG_IDEA, marks=pytest.mark.embedded),
    ],
    ids=["sql", "options", "1900-characters"],
)
def test_any_idea_the_form_allows_makes_a_spoken_storyboard(
    alice_client, user, make_character, broker, worker, idea
):
    """A long idea was a 500 (a narration over the schema's 1,000 characters); an idea that
    split into a narration starting with "-" crashed the storyboard's worker."""
    assert len(LONG_IDEA) < 2000
    cast = make_cast(make_character, user)
    response = alice_client.post(
        reverse("films:create"),
        {"idea": idea, "genre": "drama", "style": "natural", "target_seconds": 30,
         "scene_count": 3, "voice": "espeak-en-us", "backend": "animatic",
         "music_mood": "none", "cast": [str(cast[0].public_id)]},
    )  # fmt: skip
    assert response.status_code == 302, response.context["form"].errors
    run_jobs(broker, worker)
    film = Film.objects.get()
    scenes = list(film.scenes.order_by("position"))
    assert all(s.narration_audio and not s.error for s in scenes), [s.error for s in scenes]
    assert all(len(s.narration) <= 400 for s in scenes)
    # A long brief is cut at a sentence, not mid-word.
    assert film.title.endswith((".", "…", idea[-3:].rstrip(" .")))


@pytest.mark.embedded  # espeak-ng's arguments, the same on every set-up
def test_a_narration_starting_with_a_dash_is_spoken_and_timed(user, make_character, broker, worker):
    film = make_film(user, make_cast(make_character, user))
    run_jobs(broker, worker)
    scene = film.scenes.order_by("position").first()
    services.update_scene(
        scene=scene, heading=scene.heading, shot=scene.shot,
        narration="-30 degrees outside, and falling.", first_frame_text=scene.first_frame_text,
        last_frame_text=scene.last_frame_text, framing=scene.framing, transition=scene.transition,
    )  # fmt: skip
    run_jobs(broker, worker)
    scene.refresh_from_db()
    assert scene.narration_audio and not scene.error
    assert 1 < scene.narration_seconds < 6
    assert scene.cues[0]["text"].startswith("-30 degrees outside")


def test_a_step_that_fails_unexpectedly_fails_its_scene_and_the_film(
    user, make_character, broker, worker
):
    """A photo gone from storage made the keyframes step raise FileNotFoundError, which no one
    caught: the storyboard's scene showed nothing, and a rendering film stayed "running" at
    "keyframes and narration of scene 1" with no worker."""
    cast = make_cast(make_character, user)
    for image in cast[0].ordered_images():
        default_storage.delete(image.image.name)
    film = make_film(user, cast)
    run_jobs(broker, worker)
    first = film.scenes.order_by("position").first()
    assert first.error.startswith("keyframes: An internal error stopped it (FileNotFoundError)")

    services.render_film(film=film)
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert film.status == JobStatus.FAILED
    assert film.error.startswith("Failed while keyframes of scene 1: An internal error"), film.error
    assert not Film.objects.filter(status__in=ACTIVE_STATUSES).exists()
    assert not Scene.objects.filter(status__in=ACTIVE_STATUSES).exists()


def test_deleting_a_film_while_its_music_is_made_leaves_nothing_in_storage(
    user, make_character, broker, worker, monkeypatch
):
    """The delete answered "Film deleted.", then the worker stored the music bed for a film
    that no longer existed and crashed: the file stayed in storage for ever."""
    film = make_film(user, make_cast(make_character, user), music_mood="calm")
    run_jobs(broker, worker)
    real_render_music = music.render_music

    def render_then_the_user_deletes(**arguments):
        real_render_music(**arguments)
        services.delete_film(film=Film.objects.get(pk=film.pk))

    monkeypatch.setattr(music, "render_music", render_then_the_user_deletes)
    services.render_film(film=film)
    run_jobs(broker, worker)
    assert not Film.objects.filter(pk=film.pk).exists()
    assert stored_files(f"films/{film.public_id}") == []
    assert not Scene.objects.filter(status__in=ACTIVE_STATUSES).exists()


def test_a_scene_cancelled_while_its_clip_is_stored_keeps_no_body_piece(
    user, make_character, broker, worker, monkeypatch
):
    """With burnt-in subtitles the animatic makes a scene's body with its clip, stored among
    the film's pieces just before the clip; a film cancelled right then keeps neither."""

    film = make_film(user, make_cast(make_character, user), burn_subtitles=True)
    run_jobs(broker, worker)
    real_store_body = clips.store_body
    stored = []

    def store_then_the_user_cancels(*arguments):
        stored.append(real_store_body(*arguments))
        services.cancel_film(film=Film.objects.get(pk=film.pk))
        return stored[-1]

    monkeypatch.setattr(clips, "store_body", store_then_the_user_cancels)
    services.render_film(film=film)
    run_jobs(broker, worker)
    assert len(stored) == 1 and stored[0].startswith(f"films/{film.public_id}/pieces/")
    film.refresh_from_db()
    assert film.status == JobStatus.CANCELED
    assert not default_storage.exists(stored[0])
    files = stored_files(f"films/{film.public_id}")
    # The sound, made while the clip rendered, stays among the pieces for the next render.
    assert [name.suffix for name in files if "pieces" in name.parts] == [".m4a"]
    assert {name for name in files if "pieces" not in name.parts} == named_files(film)


@pytest.mark.embedded  # local disk in both passes: the production pass would repeat it
@pytest.mark.local_media  # an object store's upload appears whole or not at all
def test_an_empty_piece_left_by_a_killed_worker_is_made_again_not_reused(
    user, make_character, broker, worker
):
    """A piece of the assembly is reused whenever its name exists: one cut short by a kill (a
    0-byte file) failed the film and every Retry ("Invalid data found") until a scene was
    re-rendered."""
    from tests.film_fixtures import render_to_end

    film = render_to_end(make_film(user, make_cast(make_character, user)), broker, worker)
    pieces = [
        Path(default_storage.path(str(name)))
        for name in stored_files(f"films/{film.public_id}/pieces")
        if name.suffix == ".mp4"
    ]
    for path in pieces:
        path.write_bytes(b"")
    Film.objects.filter(pk=film.pk).update(assembly_key="")  # the join is to be made again
    film = render_to_end(Film.objects.get(pk=film.pk), broker, worker)
    assert pieces and all(path.stat().st_size > 0 for path in pieces)
    assert probe_video(stored_bytes(film.video)).frames > 0


@pytest.mark.local_media
def test_a_piece_whose_store_is_cut_short_leaves_nothing_under_its_name(
    user, make_character, monkeypatch, tmp_path
):
    """Pieces are written beside their name and renamed into place: a store cut short (a disk
    full, a kill) leaves no part of the piece where the next assembly would reuse it."""
    from generation.video import BodyPiece

    film = make_film(user, make_cast(make_character, user))
    source = tmp_path / "body.mp4"
    source.write_bytes(b"x" * 4096)

    def copy_half_then_fail(origin, target):
        Path(target).write_bytes(Path(origin).read_bytes()[:2048])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pieces.shutil, "copyfile", copy_half_then_fail)
    body = BodyPiece(first=0, end=24, subtitles="", key="k" * 64)
    with pytest.raises(OSError):
        pieces.store_body(film, body, source)
    assert stored_files(f"films/{film.public_id}") == []
    monkeypatch.undo()
    name = pieces.store_body(film, body, source)
    assert default_storage.open(name).read() == source.read_bytes()


@pytest.mark.embedded  # the production pass lists S3 in the test of every unnamed file
def test_a_cut_stored_by_a_pass_killed_before_it_finished_is_removed_by_the_next(
    user, make_character, broker, worker, monkeypatch
):
    """A kill between storing the film's MP4, poster and subtitles and marking it finished
    left them in storage, named by no row, until the film was deleted. The next pass of the
    film (a Retry, the sweeper's requeue) removes them."""
    from jobs import lifecycle

    film = make_film(user, make_cast(make_character, user))
    real_finish = lifecycle.finish
    killed = []

    def killed_before_the_film_is_marked(job, **fields):
        if isinstance(job, Film) and fields.get("video") and not killed:
            killed.append(fields["video"])
            raise RuntimeError("the worker was killed")
        return real_finish(job, **fields)

    monkeypatch.setattr(lifecycle, "finish", killed_before_the_film_is_marked)
    run_jobs(broker, worker)
    services.render_film(film=film)
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert killed and film.status == JobStatus.FAILED
    assert default_storage.exists(killed[0])  # what a kill leaves
    services.retry_film(film=film)
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert film.status == JobStatus.SUCCEEDED, film.error
    assert not default_storage.exists(killed[0])
    files = stored_files(f"films/{film.public_id}")
    assert {name for name in files if "pieces" not in name.parts} == named_files(film)


def test_two_workers_making_one_scenes_keyframes_leave_no_orphan(
    user, make_character, broker, worker, tmp_path
):
    """Two quick "New keyframes" ran two preparations of the same scene; each deleted the files
    it had read before it started, so the first one's keyframes outlived the film."""
    film = make_film(user, make_cast(make_character, user))
    run_jobs(broker, worker)
    scene = film.scenes.order_by("position").first()
    Scene.objects.filter(pk=scene.pk).update(keyframe_seed=12345)
    one, two = Scene.objects.get(pk=scene.pk), Scene.objects.get(pk=scene.pk)
    for copy in (one, two):
        storyboard.prepare_scene(copy, workdir=tmp_path)
    Scene.objects.filter(pk=scene.pk).update(keyframe_seed=777)
    one, two = Scene.objects.get(pk=scene.pk), Scene.objects.get(pk=scene.pk)
    keyframes.make_keyframes(one, workdir=tmp_path)
    Scene.objects.filter(pk=scene.pk).update(keyframe_seed=778)
    keyframes.make_keyframes(two, workdir=tmp_path)
    film.refresh_from_db()
    assert set(stored_files(f"films/{film.public_id}")) == named_files(film)
    services.delete_film(film=film)
    assert stored_files(f"films/{film.public_id}") == []


def test_a_pass_that_finds_its_film_deleted_stops_quietly(user, make_character, broker, worker):
    film = make_film(user, make_cast(make_character, user))
    run_jobs(broker, worker)
    film_id = film.pk
    services.delete_film(film=film)
    pipeline.advance(film_id=film_id, message_id="late")
    storyboard.prepare_storyboard(film_id=film_id)
    assert stored_files(f"films/{film.public_id}") == []


def test_two_workers_preparing_one_scene_speak_it_once(user, make_character, monkeypatch, tmp_path):
    """The storyboard's preparation and a render both spoke the same narration; Piper speaks
    a little differently each time, so the film could play one recording with the other's
    subtitles. One scene's step runs once at a time, and the one who waited finds it made."""
    import threading

    from django.db import connections

    from generation.voices import find_voice

    film = make_film(user, make_cast(make_character, user), voice="piper-joe")
    scene = film.scenes.order_by("position").first()
    spoken = []
    real = narration.synthesise

    def counted(text, **arguments):
        spoken.append(text)
        return real(text, **arguments)

    monkeypatch.setattr(narration, "synthesise", counted)
    assert find_voice("piper-joe")

    def prepare(folder):
        try:
            storyboard.prepare_scene(Scene.objects.select_related("film").get(pk=scene.pk),
                                workdir=folder)  # fmt: skip
        finally:
            connections.close_all()

    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    workers = [threading.Thread(target=prepare, args=(folder,)) for folder in folders]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert len(spoken) == 1
    scene.refresh_from_db()
    assert scene.narration_audio and scene.cues
    names = {PurePosixPath(name) for name in stored_files(f"films/{film.public_id}")}
    assert sum(1 for name in names if "narration" in name.name and name.parent.name != "pieces"
               ) == 1  # fmt: skip


def test_files_killed_steps_stored_but_never_named_are_removed_by_the_next_pass(
    user, make_character, broker, worker, monkeypatch, tmp_path
):
    """A kill between a step storing its files and naming them on its row (a scene's take:
    clip, last frame, thumbnail; a keyframe, a narration, the music) left them in storage
    until the film was deleted. The scene's next take (a Retry, the sweeper's requeue)
    removes its own; the film's next cut every file of its folder no row names, not the
    pieces. (On S3 in the production pass: the folder is listed there.)"""
    from films.files import store
    from jobs import lifecycle

    film = make_film(user, make_cast(make_character, user))
    run_jobs(broker, worker)
    blank = tmp_path / "blank.bin"
    blank.write_bytes(b"\0" * 64)
    unnamed = [
        store(film, name, blank)
        for name in ("scene-1-first.jpg", "scene-2-narration.wav", "music.wav")
    ]
    real_finish = lifecycle.finish
    killed = []

    def killed_before_the_scene_is_marked(job, **fields):
        if isinstance(job, Scene) and fields.get("clip") and not killed:
            killed.extend(fields[f] for f in ("clip", "clip_last_frame", "thumbnail"))
            raise RuntimeError("the worker was killed")
        return real_finish(job, **fields)

    monkeypatch.setattr(lifecycle, "finish", killed_before_the_scene_is_marked)
    run_jobs(broker, worker)
    services.render_film(film=film)
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert killed and film.status == JobStatus.FAILED
    assert all(default_storage.exists(name) for name in killed)  # what a kill leaves
    services.retry_film(film=film)
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert film.status == JobStatus.SUCCEEDED, film.error
    assert not any(default_storage.exists(name) for name in [*killed, *unnamed])
    files = stored_files(f"films/{film.public_id}")
    assert {name for name in files if "pieces" not in name.parts} == named_files(film)
    assert any("pieces" in name.parts for name in files)
