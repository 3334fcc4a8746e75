"""Dream jobs through the real actor on a real Dramatiq worker: render, cancel, retry, delete,
resume after a restart, and duplicate deliveries."""

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from dreams import services
from dreams.models import Dream, DreamStatus
from dreams.tasks import render_dream
from jobs.embedded import resume_unfinished_jobs
from tests.support import (
    probe_video,
    queue_size,
    run_jobs,
    stored_bytes,
    stored_files,
    take_message,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)


def queue_dream(
    user, character, prompt="Eileen floats through the station", seed=7, backend="animatic"
) -> Dream:
    return services.create_dream(
        owner=user, character=character, prompt=prompt, backend=backend, seed=seed
    )


@pytest.mark.local_media  # the portal's own range serving; S3 serves its files itself
def test_dream_renders_to_a_playable_mp4(
    alice_client, user, make_character, broker, worker, media_root
):
    character = make_character(user, photos=("astronaut.png", "chelsea.png"))
    dream = queue_dream(user, character)
    run_jobs(broker, worker)

    dream.refresh_from_db()
    assert dream.status == DreamStatus.SUCCEEDED, dream.error
    assert (dream.stage, dream.progress, dream.attempts) == ("done", 1.0, 1)
    assert dream.duration_seconds == pytest.approx(6.0)
    probe = probe_video(dream.video.path)
    assert (probe.codec, probe.pixel_format) == ("h264", "yuv420p")
    assert (probe.width, probe.height, probe.fps) == (1280, 720, 24)
    assert probe.duration == pytest.approx(6.0, abs=0.1)
    assert probe.frames == 144
    assert probe.top_level_boxes.index("moov") < probe.top_level_boxes.index("mdat")

    video = alice_client.get(reverse("dreams:video", args=[dream.public_id]))
    assert video.status_code == 200 and video["Content-Type"] == "video/mp4"
    assert b"".join(video)[4:8] == b"ftyp"
    assert video["Accept-Ranges"] == "bytes"
    size = Path(dream.video.path).stat().st_size
    assert video["Content-Length"] == str(size)
    # Browsers ask for ranges to start playing and to seek (Safari insists on them).
    url = reverse("dreams:video", args=[dream.public_id])
    first = alice_client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first["Content-Range"] == f"bytes 0-99/{size}"
    assert b"".join(first) == Path(dream.video.path).read_bytes()[:100]
    tail = alice_client.get(url, headers={"Range": "bytes=-10"})
    assert b"".join(tail) == Path(dream.video.path).read_bytes()[-10:]
    beyond = alice_client.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{size}"
    poster = alice_client.get(reverse("dreams:poster", args=[dream.public_id]))
    assert poster["Content-Type"] == "image/jpeg"
    download = alice_client.get(reverse("dreams:video", args=[dream.public_id]) + "?download=1")
    assert download["Content-Disposition"].startswith("attachment;")

    page = alice_client.get(reverse("dreams:detail", args=[dream.public_id])).content.decode()
    assert "<video" in page and "Succeeded" in page


def test_cancel_while_rendering_stops_promptly_and_keeps_no_video(
    user, make_character, broker, worker, media_root
):
    dream = queue_dream(user, make_character(user))
    wait_for(lambda: Dream.objects.filter(pk=dream.pk, progress__gt=0.2).exists())
    services.cancel_dream(dream=dream)
    run_jobs(broker, worker)

    dream.refresh_from_db()
    assert dream.status == DreamStatus.CANCELED
    assert not dream.video and not dream.poster
    assert not [path for path in stored_files() if "dreams" in path.parts]
    # The render stopped at its next progress report, well before the end.
    assert dream.progress < 0.9


def test_cancel_while_queued_never_renders(user, make_character, broker, worker):
    worker.pause()
    dream = queue_dream(user, make_character(user))
    services.cancel_dream(dream=dream)
    worker.resume()
    run_jobs(broker, worker)
    dream.refresh_from_db()
    assert (dream.status, dream.attempts) == (DreamStatus.CANCELED, 0)


def test_cancel_a_finished_dream_is_refused(user, make_character, broker, worker):
    dream = queue_dream(user, make_character(user))
    run_jobs(broker, worker)
    with pytest.raises(services.DreamError, match="already succeeded"):
        services.cancel_dream(dream=dream)


def test_failure_says_which_stage_and_why_then_retry_succeeds(user, make_character, broker, worker):
    character = make_character(user)
    image = character.images.get()
    # The photo vanishes from storage behind the portal's back, then comes back.
    photo = stored_bytes(image.image)
    image.image.storage.delete(image.image.name)
    dream = queue_dream(user, character)
    run_jobs(broker, worker)
    dream.refresh_from_db()
    assert dream.status == DreamStatus.FAILED
    assert dream.stage == "preparing"
    assert dream.error == "Failed while preparing: A reference image file is missing."

    assert image.image.storage.save(image.image.name, ContentFile(photo)) == image.image.name
    services.retry_dream(dream=dream)
    run_jobs(broker, worker)
    dream.refresh_from_db()
    # A retry is a new take: its attempts are counted afresh (the sweeper's limit is per take).
    assert (dream.status, dream.error, dream.attempts) == (DreamStatus.SUCCEEDED, "", 1)


def test_retry_is_refused_unless_failed_or_cancelled(user, make_character, broker, worker):
    dream = queue_dream(user, make_character(user))
    run_jobs(broker, worker)
    with pytest.raises(services.DreamError, match="Only a failed or cancelled dream"):
        services.retry_dream(dream=dream)


def test_duplicate_messages_render_once(user, make_character, broker, worker, media_root):
    dream = queue_dream(user, make_character(user))
    render_dream.send(dream.id)  # a second delivery of the same job, e.g. after a redelivery
    run_jobs(broker, worker)
    dream.refresh_from_db()
    assert (dream.status, dream.attempts) == (DreamStatus.SUCCEEDED, 1)
    videos = [path for path in stored_files() if path.suffix == ".mp4"]
    assert len(videos) == 1


def test_jobs_left_queued_or_running_are_resumed_on_start(user, make_character, broker, worker):
    character = make_character(user)
    worker.pause()
    queued = queue_dream(user, character, prompt="left in the queue")
    interrupted = queue_dream(user, character, prompt="cut off mid-render")
    broker.flush_all()  # the process died: its in-memory messages are gone
    Dream.objects.filter(pk=interrupted.pk).update(
        status=DreamStatus.RUNNING, stage="rendering", progress=0.4, job_message_id="lost"
    )
    worker.resume()

    assert resume_unfinished_jobs() == 2
    run_jobs(broker, worker)
    for dream in (queued, interrupted):
        dream.refresh_from_db()
        assert dream.status == DreamStatus.SUCCEEDED


def test_delete_running_dream_stops_it_and_removes_files(
    alice_client, user, make_character, broker, worker, media_root
):
    finished = queue_dream(user, make_character(user), prompt="finished first")
    run_jobs(broker, worker)
    finished.refresh_from_db()
    assert finished.video

    running = queue_dream(user, Dream.objects.get(pk=finished.pk).character, prompt="going")
    wait_for(lambda: Dream.objects.filter(pk=running.pk, progress__gt=0.1).exists())
    alice_client.post(reverse("dreams:delete", args=[running.public_id]))
    alice_client.post(reverse("dreams:delete", args=[finished.public_id]))
    run_jobs(broker, worker)
    assert not Dream.objects.exists()
    assert not [path for path in stored_files() if "dreams" in path.parts]


def test_deleted_character_leaves_dream_history_and_blocks_retry(
    alice_client, user, make_character, broker, worker
):
    from characters.services import delete_character

    character = make_character(user)
    dream = queue_dream(user, character)
    run_jobs(broker, worker)
    delete_character(character=character)
    dream.refresh_from_db()
    assert dream.character is None and dream.status == DreamStatus.SUCCEEDED
    page = alice_client.get(reverse("dreams:detail", args=[dream.public_id])).content.decode()
    assert "(deleted character)" in page and "<video" in page
    Dream.objects.filter(pk=dream.pk).update(status=DreamStatus.FAILED)
    dream.refresh_from_db()
    with pytest.raises(services.DreamError, match="character was deleted"):
        services.retry_dream(dream=dream)


def test_history_lists_newest_first_and_paginates(alice_client, user, make_character, make_dream):
    character = make_character(user)
    for number in range(14):
        make_dream(user, character, f"dream number {number}", status=DreamStatus.FAILED)
    first = alice_client.get(reverse("history:list")).content.decode()
    assert first.index("dream number 13") < first.index("dream number 2")
    assert "dream number 1<" not in first and "Page 1 of 2" in first
    second = alice_client.get(reverse("history:list") + "?page=2").content.decode()
    assert "dream number 1<" in second and "dream number 0<" in second


def test_interrupted_jobs_are_resumed_oldest_first(user, make_character, broker):
    """After a restart the queue is rebuilt in the order people asked: the oldest dream first
    (it was newest first, so whoever waited longest waited longest again)."""
    character = make_character(user)
    first = queue_dream(user, character, prompt="asked first")
    second = queue_dream(user, character, prompt="asked second")
    third = queue_dream(user, character, prompt="asked third")
    broker.flush_all()
    Dream.objects.filter(pk=second.pk).update(status=DreamStatus.RUNNING, job_message_id="lost")

    assert resume_unfinished_jobs() == 3
    sent = [take_message(broker, "media").args[0] for _ in range(3)]
    assert sent == [first.pk, second.pk, third.pk]
    second.refresh_from_db()
    assert (second.status, second.stage) == (DreamStatus.QUEUED, "resumed after a restart")


def test_a_killed_process_leaves_no_work_folder_behind(settings, tmp_path, user, make_character):
    """Work folders hold copies of users' photos: those of a process that died (here, one
    that never existed) go at the next worker start or sweep; a live process's stay."""
    from jobs.sweeper import sweep_stalled_jobs
    from jobs.workdirs import work_folder

    settings.JOB_WORK_DIR = str(tmp_path / "work")
    dead = Path(settings.JOB_WORK_DIR) / "dream-7-pid999999999-abc"
    (dead / "nested").mkdir(parents=True)
    (dead / "reference-0.jpg").write_bytes(b"someone's photo")
    with work_folder("dream-8") as live:
        sweep_stalled_jobs()
        assert not dead.exists()
        assert Path(live).is_dir()
    assert list(Path(settings.JOB_WORK_DIR).iterdir()) == []


@pytest.mark.broker
def test_a_render_goes_to_the_queue_its_backend_names(
    settings, user, make_character, broker, worker
):
    """Backends name their queue (``media``, ``gpu``, ``cloud``): a GPU renderer's jobs wait on
    ``gpu`` for the worker of that machine, not on ``media``."""
    settings.CLIP_BACKEND_CLASSES = {
        **settings.CLIP_BACKEND_CLASSES,
        "animatic-gpu": "tests.backends.GpuQueueAnimatic",
    }
    settings.CLIP_BACKENDS = ["animatic", "animatic-gpu"]
    worker.pause()
    dream = queue_dream(user, make_character(user), backend="animatic-gpu")
    assert (queue_size(broker, "gpu"), queue_size(broker, "media")) == (1, 0)
    worker.resume()
    run_jobs(broker, worker)
    dream.refresh_from_db()
    assert (dream.status, dream.backend) == (DreamStatus.SUCCEEDED, "animatic-gpu")


def test_a_render_whose_work_folder_vanishes_is_queued_again_not_failed(
    user, make_character, broker, worker, monkeypatch
):
    """When a web process with embedded workers stops, Python removes its temporary folders at
    exit while a worker thread may still be rendering; the render then failed ("No such file
    … poster.jpg") and recorded it, so the dream the next process should resume stayed Failed
    (tests/browser/test_dream_story.py's restart test failed so on a loaded machine)."""
    import shutil

    from generation.animatic import AnimaticBackend

    real_render = AnimaticBackend.render
    calls = []

    def render_as_the_process_exits(self, request, *, workdir, progress):
        calls.append(workdir)
        if len(calls) == 1:
            shutil.rmtree(workdir)  # what the exit's cleanup does under the running render
        return real_render(self, request, workdir=workdir, progress=progress)

    monkeypatch.setattr(AnimaticBackend, "render", render_as_the_process_exits)
    dream = queue_dream(user, make_character(user), prompt="survives a restart")
    run_jobs(broker, worker)
    dream.refresh_from_db()
    assert dream.status == DreamStatus.SUCCEEDED, dream.error
    assert len(calls) == 2 and dream.attempts == 2
