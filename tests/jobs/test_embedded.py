"""The embedded mode's start: every unfinished job is queued again before its worker takes
anything, so a job queued by another being resumed is not resumed a second time (a restart
interrupted a film's first scene mid-render and rendered it twice: bench/film_kill_matrix.py)."""

from __future__ import annotations

import time

import pytest

from dreams import services
from dreams.models import Dream, DreamStatus
from jobs import embedded
from tests.support import stop_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


def test_the_worker_takes_nothing_until_every_unfinished_job_is_queued(
    settings, broker, monkeypatch, user, make_character
):
    settings.EMBEDDED_WORKERS = True
    character = make_character(user)
    dream = services.create_dream(
        owner=user, character=character, prompt="Eileen waits", backend="animatic", seed=3
    )
    broker.flush_all()  # the process that queued it is gone, with its in-memory queue
    seen_while_resuming: list[str] = []
    resume = embedded.resume_unfinished_jobs

    def slow_resume() -> int:
        count = resume()
        time.sleep(0.5)  # a worker already running takes the dream meanwhile
        seen_while_resuming.append(Dream.objects.get(pk=dream.pk).status)
        return count

    monkeypatch.setattr(embedded, "resume_unfinished_jobs", slow_resume)
    worker = embedded.start_embedded_workers()
    assert worker is not None
    try:
        done = wait_for(
            lambda: Dream.objects.filter(pk=dream.pk, status=DreamStatus.SUCCEEDED).first(),
            timeout=60,
        )
    finally:
        stop_worker(worker)
        monkeypatch.setattr(embedded, "_worker", None)
    assert seen_while_resuming == [DreamStatus.QUEUED]
    assert done.attempts == 1
