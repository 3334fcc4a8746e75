"""``films.pipeline.advance``, the body of the ``advance_film`` actor, called directly: which
clips one pass queues, that it lets go of the film while they render (no worker waits on a
film), and that a message which is not the film's to move changes nothing."""

import pytest

from films import pipeline, services
from films.models import Film, Scene
from jobs.models import JobStatus
from tests.film_fixtures import make_cast, make_film
from tests.support import queue_size, run_jobs

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued_film(user, make_character, broker, worker):
    """A film with its storyboard prepared, Render pressed, and its first message dropped:
    the test sends it by calling ``advance`` itself."""

    def make(**fields) -> Film:
        film = make_film(user, make_cast(make_character, user), **fields)
        run_jobs(broker, worker)
        worker.pause()
        services.render_film(film=Film.objects.get(pk=film.pk))
        broker.flush_all()
        return Film.objects.get(pk=film.pk)

    yield make
    worker.resume()


@pytest.mark.parametrize(("chaining", "queued"), [(False, 3), (True, 1)])
def test_a_pass_queues_the_clips_it_may_and_lets_go_of_the_film(
    queued_film, broker, chaining, queued
):
    """Unchained, every scene's clip is queued at once (they render side by side); chained,
    only the first (the next opens on its last frame). Either way the film is let go: it
    stays running, held by no message, and says how many clips are done. A clip queued is a
    new take, whose attempts count from nothing (a scene re-rendered three times, then
    stalled once, was failed as "stopped responding 3 times")."""
    film = queued_film(chaining=chaining)
    Scene.objects.filter(film=film).update(attempts=4)  # earlier takes
    pipeline.advance(film_id=film.pk, message_id="first-pass")
    film.refresh_from_db()
    scenes = list(Scene.objects.filter(film=film).order_by("position"))
    assert [s.status == JobStatus.QUEUED for s in scenes] == [True] * queued + [False] * (
        3 - queued
    )
    assert [s.attempts for s in scenes] == [0] * queued + [4] * (3 - queued)
    assert queue_size(broker, "media") == queued
    assert (film.status, film.job_message_id) == (JobStatus.RUNNING, "")
    assert film.stage == "rendering clips (0 of 3 done)"


def test_a_message_for_a_film_it_does_not_hold_changes_nothing(queued_film, broker):
    """A cancelled film, or one another message holds: the late message does nothing."""
    film = queued_film(chaining=False)
    services.cancel_film(film=film)
    broker.flush_all()
    pipeline.advance(film_id=film.pk, message_id="late")
    film.refresh_from_db()
    assert film.status == JobStatus.CANCELED
    assert queue_size(broker, "media") == 0
    assert not Scene.objects.filter(film=film, status=JobStatus.QUEUED).exists()


def test_a_pass_working_long_between_reports_is_not_taken_for_dead(
    queued_film, settings, monkeypatch
):
    """Making the pieces, the music or the cut may take longer than the sweep's allowance
    with no step to report. The pass beats for the film while it runs, so a sweep meanwhile
    leaves it alone (it requeued the live pass, and the third time failed the film)."""
    import time

    from jobs.sweeper import sweep_stalled_jobs

    settings.SWEEP_RENDER_STALL_SECONDS = 2
    film = queued_film(chaining=False)
    sweeps = []
    real = pipeline.prepare_early

    def slow_then_swept(*arguments, **keywords):
        time.sleep(3.5)
        sweeps.append(sweep_stalled_jobs())
        return real(*arguments, **keywords)

    monkeypatch.setattr(pipeline, "prepare_early", slow_then_swept)
    pipeline.advance(film_id=film.pk, message_id="slow-pass")
    film.refresh_from_db()
    assert (sweeps[0].requeued_renders, sweeps[0].failed_renders) == (0, 0)
    assert (film.status, film.attempts) == (JobStatus.RUNNING, 1)
