"""Helpers for film tests: a cast from the real photos and a film made through the services."""

from __future__ import annotations

from films import services
from films.models import Film
from films.script import create_film


def make_cast(make_character, owner):
    """Two characters from the real fixture photos."""
    return [
        make_character(owner, name="Eileen", photos=("astronaut.png", "rocket.jpg")),
        make_character(owner, name="Chelsea", photos=("chelsea.png", "coffee.png")),
    ]


def make_film(owner, cast, **fields) -> Film:
    """A draft film through ``create_film`` (its storyboard preparation is queued)."""
    fields.setdefault("idea", "A test pilot and her cat find a map to a lost harbour.")
    fields.setdefault("genre", "adventure")
    fields.setdefault("style", "vintage")
    fields.setdefault("voice", "espeak-en-us")
    fields.setdefault("backend", "animatic")
    fields.setdefault("target_seconds", 30)
    fields.setdefault("scene_count", 3)
    fields.setdefault("seed", 11)
    return create_film(owner=owner, cast=cast, **fields)


def render_to_end(film: Film, broker, worker) -> Film:
    """Render ``film`` (its storyboard first) through the real actors; fail the test unless
    it succeeded. Returns it, refreshed."""
    from jobs.models import JobStatus
    from tests.support import run_jobs

    run_jobs(broker, worker)
    services.render_film(film=film)
    run_jobs(broker, worker)
    film.refresh_from_db()
    assert film.status == JobStatus.SUCCEEDED, film.error
    return film
