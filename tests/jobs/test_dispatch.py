"""``jobs.dispatch``: the one rule for a queued job's next message (which actor, which queue),
and sending it where the workers that serve that queue take it."""

from decimal import Decimal

import pytest

from generation.registry import get_backend
from jobs.dispatch import Step, next_step, send
from jobs.invocations import new_invocation
from tests.film_fixtures import make_cast, make_film
from tests.support import queue_size

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("backend", "queue"),
    [("animatic", "media"), ("wan-flf2v", "gpu"), ("ltx-video", "gpu"), ("gone-model", None)],
)
def test_a_local_dream_renders_on_the_queue_its_backend_names(user, make_dream, backend, queue):
    """The animatic renders on ``media``, a local GPU model on ``gpu``; a backend no longer
    known stays on the actor's own queue, where the render fails saying so."""
    dream = make_dream(user, backend=backend)
    assert next_step(dream) == Step("render_dream", (dream.pk,), queue=queue)


def test_a_dream_with_an_invocation_starts_it(user, make_dream, cloud):
    """A paid dream moves on by starting (or, started already, polling) its invocation."""
    dream = make_dream(user, backend="nova-reel")
    invocation = new_invocation(
        job=dream, owner_id=user.pk, backend=get_backend("nova-reel"), video_seconds=6,
        estimate_usd=Decimal("0.48"),
    )  # fmt: skip
    assert invocation is not None
    assert next_step(dream) == Step("start_invocation", (invocation.pk,))


def test_a_film_moves_on_the_media_queue_whatever_its_scenes_backend(user, make_character):
    film = make_film(user, make_cast(make_character, user))
    film.backend = "wan-flf2v"
    assert next_step(film) == Step("advance_film", (film.pk,), queue="media")


def test_a_step_for_another_queue_waits_there(broker, user, make_dream):
    """``render_dream`` is declared on ``media``; a GPU dream's step goes to ``gpu``, which
    only the gpu workers serve, and nothing is left on ``media``."""
    dream = make_dream(user, backend="wan-flf2v")
    send(next_step(dream))
    assert (queue_size(broker, "gpu"), queue_size(broker, "media")) == (1, 0)
