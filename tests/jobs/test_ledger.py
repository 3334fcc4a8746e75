"""The spend ledger: every paid call is a charge, reserved when made, settled when billed,
void when it never will be, and kept when its job is deleted; the daily budget sums it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dreams import services
from dreams.models import Dream, DreamStatus
from jobs.budget import remaining_today_usd, spent_today_usd
from jobs.models import Charge, ChargeStatus, ChargeUnit, Invocation, InvocationStatus
from tests.support import run_until_idle, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def cloud_dream(user, character) -> Dream:
    return services.create_dream(
        owner=user,
        character=character,
        prompt="Eileen waves from the station window",
        backend="nova-reel",
        duration_seconds=6,
    )


def test_a_cloud_clip_is_reserved_at_its_estimate_then_settled_at_its_cost(
    cloud, user, make_character, broker, worker, settings
):
    settings.DAILY_BUDGET_USD = "5.00"
    worker.pause()
    dream = cloud_dream(user, make_character(user))
    charge = Charge.objects.get()
    assert (charge.unit, charge.quantity, charge.status) == (
        ChargeUnit.VIDEO_SECONDS,
        6.0,
        ChargeStatus.RESERVED,
    )
    assert charge.job == dream and Invocation.objects.get().charge == charge
    assert spent_today_usd(owner=user) == Decimal("0.48")
    worker.resume()
    run_until_idle(broker, worker)
    charge.refresh_from_db()
    assert (charge.status, charge.cost_usd) == (ChargeStatus.SETTLED, Decimal("0.48"))
    assert charge.settled_at is not None
    assert remaining_today_usd(owner=user) == Decimal("4.52")


def test_a_clip_cancelled_before_the_provider_had_it_costs_nothing(
    cloud, user, make_character, broker, worker
):
    worker.pause()
    dream = cloud_dream(user, make_character(user))
    services.cancel_dream(dream=dream)
    worker.resume()
    run_until_idle(broker, worker)
    assert Charge.objects.get().status == ChargeStatus.VOID
    assert spent_today_usd(owner=user) == Decimal("0.00")


def test_a_clip_abandoned_at_the_provider_still_counts_and_outlives_its_dream(
    cloud, user, make_character, broker, worker
):
    cloud.in_progress_polls = 10_000
    dream = cloud_dream(user, make_character(user))
    wait_for(lambda: Invocation.objects.filter(status=InvocationStatus.IN_PROGRESS).exists())
    services.delete_dream(dream=dream)
    run_until_idle(broker, worker)
    assert not Dream.objects.exists()
    charge = Charge.objects.get()
    # The provider may still finish and bill it: it keeps counting, pointing at no job.
    assert (charge.status, charge.job_id) == (ChargeStatus.RESERVED, None)
    assert Invocation.objects.get().status == InvocationStatus.ABANDONED
    assert spent_today_usd(owner=user) == Decimal("0.48")


def test_a_failed_clip_costs_nothing(cloud, user, make_character, broker, worker):
    from tests.fake_bedrock import Outcome

    cloud.outcome = Outcome(status="Failed", failure_message="Internal model error")
    dream = cloud_dream(user, make_character(user))
    run_until_idle(broker, worker)
    dream.refresh_from_db()
    assert dream.status == DreamStatus.FAILED
    assert Charge.objects.get().status == ChargeStatus.VOID
    assert spent_today_usd(owner=user) == Decimal("0.00")


def test_a_free_local_render_makes_no_charge(user, make_character, broker, worker):
    services.create_dream(
        owner=user, character=make_character(user), prompt="Eileen waves", backend="animatic"
    )
    run_until_idle(broker, worker)
    assert Dream.objects.get().status == DreamStatus.SUCCEEDED
    assert not Charge.objects.exists()
