"""A film whose clips come from a cloud backend (Nova Reel on the fake Bedrock): one paid
start per scene, the daily budget reserved for the whole film when it is rendered."""

import pytest

from films import services
from films.errors import FilmError
from films.models import Scene
from films.quote import quote_film
from jobs.models import Charge, ChargeStatus, Invocation, JobStatus
from tests.film_fixtures import make_cast, make_film
from tests.support import run_jobs, run_until_idle

pytestmark = pytest.mark.django_db(transaction=True)


def cloud_film(user, make_character, broker, worker):
    film = make_film(
        user, make_cast(make_character, user), idea="A cat finds a map.", backend="nova-reel"
    )
    # Short narrations and plans: each scene fits one 6 s clip, which opens on an image.
    Scene.objects.filter(film=film).update(narration="The cat finds a map.")
    run_jobs(broker, worker)
    Scene.objects.filter(film=film).update(planned_seconds=4.0)
    return film


@pytest.mark.broker  # delayed polls of several scenes at once
def test_a_cloud_film_starts_each_scene_once_and_settles_its_charges(
    cloud, settings, user, make_character, broker, worker
):
    settings.DAILY_BUDGET_USD = "20"
    film = cloud_film(user, make_character, broker, worker)
    quote = quote_film(film=film)
    assert quote.scene_seconds == [6.0, 6.0, 6.0] and not quote.problems
    services.render_film(film=film)
    assert Charge.objects.filter(status=ChargeStatus.RESERVED).count() == 3
    # Messages go back and forth between the cloud and media queues until the film is done.
    run_until_idle(broker, worker, timeout=120)
    film.refresh_from_db()
    assert film.status == JobStatus.SUCCEEDED, film.error
    assert cloud.start_count() == 3
    assert Invocation.objects.count() == 3
    assert Charge.objects.filter(status=ChargeStatus.SETTLED).count() == 3
    assert film.cost_usd == quote.cost_usd


def test_a_film_over_the_daily_budget_is_refused_and_nothing_is_reserved(
    cloud, settings, user, make_character, broker, worker
):
    settings.DAILY_BUDGET_USD = "1.00"
    film = cloud_film(user, make_character, broker, worker)
    with pytest.raises(FilmError) as refused:
        services.render_film(film=film)
    assert "This film would cost about $1.44, but only $1.00" in refused.value.message
    film.refresh_from_db()
    assert film.status == JobStatus.DRAFT
    assert Charge.objects.count() == 0 and Invocation.objects.count() == 0
    assert cloud.start_count() == 0
