"""A film's path from its render to the MP4 goes down through the layers: ``jobs``,
``generation`` and ``lib`` call back into ``films`` only through what films handed them (the
job-kind hooks it registered, the ``Job`` methods its models override, a callback passed
down), never by reaching for a films module of their own accord."""

from __future__ import annotations

import inspect
import threading
from collections import Counter
from pathlib import Path

import pytest

from films import kinds, services
from films.models import Film, Scene
from jobs.models import Job
from tests.film_fixtures import make_cast, make_film
from tests.support import run_jobs, start_worker, stop_worker

ROOT = Path(services.__file__).resolve().parent.parent
LOWER_LAYERS = ("jobs/", "generation/", "lib/")
FILMS = str(ROOT / "films")


def _ours(code) -> str | None:
    """``code``'s file relative to the project, or None for libraries, tests and imports."""
    path = Path(code.co_filename)
    if code.co_name == "<module>" or not path.is_relative_to(ROOT):
        return None
    name = path.relative_to(ROOT).as_posix()
    return None if name.startswith((".venv/", "tests/")) else name


def _handed_down() -> set[object]:
    """The code of every films function the lower layers were given: the kinds' hooks and the
    film models' overrides of ``Job``'s methods."""
    hooks = {
        value.__code__
        for kind in (kinds.SCENE_KIND, kinds.FILM_KIND)
        for value in vars(kind).values()
        if inspect.isfunction(value)
    }
    overrides = {
        vars(model)[name].__code__
        for model in (Film, Scene)
        for name, member in vars(Job).items()
        if inspect.isfunction(member) and inspect.isfunction(vars(model).get(name))
    }
    return hooks | overrides


@pytest.mark.django_db(transaction=True)
def test_the_lower_layers_reach_films_only_through_what_films_handed_them(
    user, make_character, broker
):
    climbs: Counter[tuple[str, str]] = Counter()
    handed = _handed_down()
    strays: set[str] = set()

    def record(frame, event, arg):
        # A global trace function sees each call; returning None traces no lines in it.
        if event != "call" or not frame.f_code.co_filename.startswith(FILMS):
            return
        callee = _ours(frame.f_code)
        if callee is None:
            return
        caller = frame.f_back
        while caller is not None and _ours(caller.f_code) is None:
            caller = caller.f_back
        if caller is None or not (above := _ours(caller.f_code)).startswith(LOWER_LAYERS):
            return
        code = frame.f_code
        climbs[(f"{above}:{caller.f_code.co_name}", f"{callee}:{code.co_qualname}")] += 1
        # A lambda or nested function was passed down as a callback; anything else is a climb.
        if code not in handed and "<l" not in code.co_qualname:
            strays.add(f"{above}:{caller.f_code.co_name} -> {callee}:{code.co_qualname}")

    film = make_film(user, make_cast(make_character, user))
    threading.settrace(record)  # the worker's threads, started next, are traced
    worker = start_worker(broker)
    try:
        run_jobs(broker, worker)
        services.render_film(film=film)
        run_jobs(broker, worker)
    finally:
        stop_worker(worker)
        threading.settrace(None)
    film.refresh_from_db()
    assert film.status == "succeeded", film.error
    assert not strays, f"lower layers reached into films: {sorted(strays)}"
    # The trace saw the path: each scene's clip asked for, stored and settled through hooks.
    reached = {callee for _, callee in climbs}
    assert {"films/clips.py:clip_request", "films/clips.py:store_clip"} <= reached
    assert "films/kinds.py:scene_settled" in reached
