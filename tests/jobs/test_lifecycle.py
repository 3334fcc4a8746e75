"""``jobs.lifecycle``'s operations on their own: each is one guarded update whose row count says
who won, on any ``Job`` model (a film here, held in passes; a dream in the worker tests)."""

from __future__ import annotations

import pytest

from films.models import Film
from jobs import lifecycle
from jobs.models import IDLE_STATUSES, JobStatus
from tests.film_fixtures import make_cast, make_film

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def film(user, make_character) -> Film:
    return make_film(user, make_cast(make_character, user))


def queued(film: Film) -> Film:
    assert lifecycle.requeue(film, stage="waiting for a worker", from_statuses=IDLE_STATUSES)
    return film


def test_a_draft_is_held_by_no_message_until_it_is_queued(film):
    assert lifecycle.hold(Film, job_id=film.pk, message_id="a") is None
    queued(film)
    assert (film.status, film.stage, film.job_message_id) == ("queued", "waiting for a worker", "")
    # Queued twice is queued once: the second finds it active.
    assert not lifecycle.requeue(film, stage="again", from_statuses=IDLE_STATUSES)


def test_a_held_job_belongs_to_its_message_until_it_is_released(film):
    queued(film)
    held = lifecycle.hold(Film, job_id=film.pk, message_id="a")
    assert held is not None and held.status == JobStatus.RUNNING
    assert held.job_message_id == "a" and held.started_at is not None
    assert held.attempts == film.attempts + 1, "taking it from the queue is an attempt"
    assert lifecycle.hold(Film, job_id=film.pk, message_id="b") is None
    # A redelivery of the same message takes its own pass over; not a new attempt.
    again = lifecycle.hold(Film, job_id=film.pk, message_id="a")
    assert again is not None and again.attempts == held.attempts
    assert lifecycle.release(held) and held.job_message_id == ""
    assert not lifecycle.release(held), "a job released once is not released again"
    row = Film.objects.get(pk=film.pk)
    assert (row.status, row.job_message_id) == (JobStatus.RUNNING, "")
    taken = lifecycle.hold(Film, job_id=film.pk, message_id="b")
    assert taken is not None and taken.started_at == held.started_at
    assert taken.attempts == held.attempts, "holding it for its next pass is not an attempt"


def test_a_message_that_lost_its_job_cannot_release_or_report_on_it(film):
    queued(film)
    held = lifecycle.hold(Film, job_id=film.pk, message_id="a")
    assert held is not None
    assert lifecycle.cancel(Film.objects.get(pk=film.pk))
    assert not lifecycle.release(held)
    assert not lifecycle.set_progress(held, stage="assembling", fraction=0.9)
    assert lifecycle.hold(Film, job_id=film.pk, message_id="a") is None
    assert Film.objects.get(pk=film.pk).status == JobStatus.CANCELED


def test_only_a_failed_or_cancelled_job_reopens_as_a_draft(film):
    assert not lifecycle.reopen(film), "a draft is not reopened"
    queued(film)
    assert not lifecycle.reopen(film), "nor a queued job"
    lifecycle.cancel(film)
    assert lifecycle.reopen(film, stage="")
    assert Film.objects.get(pk=film.pk).status == JobStatus.DRAFT
