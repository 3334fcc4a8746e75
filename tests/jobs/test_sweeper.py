"""The sweep for jobs whose worker or message vanished (``manage.py sweep_jobs``): a render
whose worker died is queued again and finishes once, one that keeps losing its worker fails
with the reason, a lost message is sent again, and a cloud job whose poll was lost resumes
without a second start at the provider."""

from __future__ import annotations

from datetime import timedelta

import dramatiq
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from dreams import services
from dreams.models import Dream, DreamStatus
from jobs.models import Invocation, InvocationStatus
from jobs.sweeper import sweep_stalled_jobs
from tests.support import (
    queue_size,
    run_jobs,
    run_until_idle,
    start_worker,
    stop_worker,
    stored_files,
    take_message,
    wait_for,
)

# Those marked ``broker`` run again on RabbitMQ: each sends, loses or redelivers a message.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def later():
    """A moment past every stall allowance (the defaults are minutes)."""
    return timezone.now() + timedelta(hours=2)


@pytest.fixture
def fresh_worker(broker):
    """Start a worker only when the test says so (after it has lost some messages)."""
    started = []

    def start() -> dramatiq.Worker:
        worker = start_worker(broker)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        stop_worker(worker)


def lost_render(user, character, **fields) -> Dream:
    """A dream whose worker died mid-render: running, its message gone with the worker."""
    dream = services.create_dream(
        owner=user, character=character, prompt="Eileen floats", backend="animatic", seed=3
    )
    dramatiq.get_broker().flush_all()
    fields = {
        "status": DreamStatus.RUNNING,
        "stage": "rendering",
        "progress": 0.4,
        "job_message_id": "message-of-a-dead-worker",
        "attempts": 1,
        **fields,
    }
    Dream.objects.filter(pk=dream.pk).update(**fields)
    return dream


@pytest.mark.broker
def test_render_whose_worker_vanished_is_requeued_and_finishes_once(
    user, make_character, broker, fresh_worker, media_root, later
):
    dream = lost_render(user, make_character(user))

    # Fresh jobs are left alone; only silence longer than the stage allows counts.
    assert sweep_stalled_jobs().total == 0
    report = sweep_stalled_jobs(now=later)
    assert report.requeued_renders == 1 and report.total == 1
    dream.refresh_from_db()
    assert dream.status == DreamStatus.QUEUED
    assert dream.stage == "requeued: its worker stopped"

    run_jobs(broker, fresh_worker())
    dream.refresh_from_db()
    assert (dream.status, dream.attempts) == (DreamStatus.SUCCEEDED, 2), dream.error
    assert len([p for p in stored_files() if p.suffix == ".mp4"]) == 1
    # A second sweep finds nothing more to do.
    assert sweep_stalled_jobs(now=later).total == 0


@pytest.mark.broker
def test_a_slow_worker_presumed_dead_stops_and_keeps_nothing(
    user, make_character, broker, worker, media_root, later
):
    dream = services.create_dream(
        owner=user,
        character=make_character(user, photos=("astronaut.png", "chelsea.png")),
        prompt="Eileen floats",
        backend="animatic",
        seed=5,
    )
    first = wait_for(
        lambda: (
            Dream.objects.filter(pk=dream.pk, status=DreamStatus.RUNNING, progress__gt=0.05)
            .values_list("job_message_id", flat=True)
            .first()
        )
    )
    # The sweep presumes the first worker dead while it is only slow; a second worker takes
    # the job over and the first stops at its next progress report.
    assert sweep_stalled_jobs(now=later).requeued_renders == 1
    run_jobs(broker, worker)

    dream.refresh_from_db()
    assert dream.status == DreamStatus.SUCCEEDED, dream.error
    assert dream.job_message_id != first and dream.attempts == 2
    assert len([p for p in stored_files() if p.suffix == ".mp4"]) == 1


def test_a_render_that_keeps_losing_its_worker_fails_with_the_reason(
    alice_client, user, make_character, broker, later
):
    dream = lost_render(user, make_character(user), attempts=3)
    assert sweep_stalled_jobs(now=later).failed_renders == 1

    dream.refresh_from_db()
    assert dream.status == DreamStatus.FAILED
    assert dream.error.startswith(
        "Failed while rendering: the worker stopped responding 3 times (no progress for"
    )
    assert "in stage 'rendering'" in dream.operator_note
    page = alice_client.get(reverse("dreams:detail", args=[dream.public_id])).content.decode()
    assert "the worker stopped responding 3 times" in page
    assert queue_size(broker, "media") == 0


@pytest.mark.broker
def test_a_queued_dream_whose_message_was_lost_is_sent_again(
    user, make_character, broker, fresh_worker, later
):
    dream = services.create_dream(
        owner=user, character=make_character(user), prompt="waves", backend="animatic", seed=1
    )
    broker.flush_all()  # e.g. Redis restarted without persistence
    assert sweep_stalled_jobs().total == 0
    assert sweep_stalled_jobs(now=later).resent_queued == 1
    run_jobs(broker, fresh_worker())
    dream.refresh_from_db()
    assert (dream.status, dream.attempts) == (DreamStatus.SUCCEEDED, 1)


@pytest.mark.broker
def test_a_cloud_dream_whose_poll_was_lost_resumes_without_a_second_start(
    cloud, user, make_character, broker, fresh_worker, later
):
    from jobs import tasks

    cloud.in_progress_polls = 1
    services.create_dream(
        owner=user,
        character=make_character(user),
        prompt="Eileen waves",
        backend="nova-reel",
        duration_seconds=6,
    )
    # A worker takes the start and sends it, then its delayed poll is lost with the broker.
    tasks.start_invocation.fn(*take_message(broker, "cloud").args)
    broker.flush_all()
    assert Invocation.objects.get().status == InvocationStatus.IN_PROGRESS

    assert sweep_stalled_jobs().total == 0
    assert sweep_stalled_jobs(now=later).resumed_cloud == 1
    run_until_idle(broker, fresh_worker())
    dream = Dream.objects.get()
    assert dream.status == DreamStatus.SUCCEEDED, dream.error
    assert cloud.start_count() == 1


def test_sweep_command_reports_what_it_did(user, make_character, broker, capsys, settings):
    lost_render(user, make_character(user))
    settings.SWEEP_RENDER_STALL_SECONDS = 0
    call_command("sweep_jobs", "--once")
    assert "requeued_renders=1" in capsys.readouterr().out


def test_a_film_waiting_on_its_clips_is_waiting_not_stalled(user, make_character, broker, later):
    """A film released while its scenes' clips render shows no sign of life for as long as
    they take: the sweep requeued it each time (and after two re-renders, failed it "the
    worker stopped responding 3 times" while its scene rendered normally). It is left to
    wait; once nothing renders for it, a silent film is a stalled one again."""
    from films import pipeline
    from films import services as film_services
    from films.models import Film, Scene
    from jobs.models import JobStatus
    from tests.film_fixtures import make_cast, make_film

    film = make_film(user, make_cast(make_character, user), chaining=False)
    for _ in range(3):  # Render, Cancel, Retry: each Render is a new take, not an attempt.
        film_services.render_film(film=film)
        film_services.cancel_film(film=Film.objects.get(pk=film.pk))
        film = Film.objects.get(pk=film.pk)
    film_services.retry_film(film=film)
    pipeline.advance(film_id=film.pk, message_id="first-pass")
    film.refresh_from_db()
    assert (film.status, film.job_message_id, film.attempts) == (JobStatus.RUNNING, "", 1)
    assert film.stage.startswith("rendering clips")
    assert Scene.objects.filter(film=film, status=JobStatus.QUEUED).count() == 3

    report = sweep_stalled_jobs(now=later)
    film.refresh_from_db()
    assert (report.requeued_renders, report.failed_renders) == (0, 0)
    assert (film.status, film.error) == (JobStatus.RUNNING, "")
    assert film.stage.startswith("rendering clips")

    # Nothing renders for it any more, and no message came: stalled, so sent again.
    Scene.objects.filter(film=film).update(status=JobStatus.CANCELED)
    report = sweep_stalled_jobs(now=later + timedelta(hours=1))
    film.refresh_from_db()
    assert report.requeued_renders == 1
    assert (film.status, film.stage) == (JobStatus.QUEUED, "requeued: its worker stopped")


def test_a_storyboard_whose_preparation_stopped_is_prepared_again(
    user, make_character, broker, later
):
    """A storyboard being drawn is a draft, which neither the embedded resume nor the sweeper
    looked at: after a kill it said "being drawn" for ever (embedded), or until the broker
    redelivered. Both send its preparation again; one already prepared is left alone."""
    from films.models import Scene
    from jobs.embedded import resume_unfinished_jobs
    from tests.film_fixtures import make_cast, make_film

    cast = make_cast(make_character, user)
    film = make_film(user, cast)
    done = make_film(user, cast, idea="A harbour pilot guides one last ship in.")
    run_jobs(broker, fresh := start_worker(broker))
    stop_worker(fresh)
    Scene.objects.filter(film=film).update(first_keyframe="", narration_audio="")
    broker.flush_all()  # the worker preparing it died, and its message with it

    assert sweep_stalled_jobs().resent_preparations == 0, "a fresh draft is not stalled"
    report = sweep_stalled_jobs(now=later)
    assert report.resent_preparations == 1
    assert sweep_stalled_jobs(now=later).resent_preparations == 0, "sent once per silence"
    broker.flush_all()
    assert resume_unfinished_jobs() == 1  # the embedded mode, restarted
    run_jobs(broker, fresh := start_worker(broker))
    stop_worker(fresh)
    for scene in Scene.objects.filter(film__in=[film, done]):
        assert scene.first_keyframe and scene.narration_audio and not scene.error
