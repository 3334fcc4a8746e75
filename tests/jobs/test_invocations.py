"""``jobs.invocations.new_invocation``: the one place an attempt opens its record, for a dream,
a film's scene or any kind. A provider's attempt gets an invocation with its charge reserved
and a client token saved before any call; a local GPU's attempt reserves its GPU-seconds; the
animatic, free and unmeasured, reserves nothing."""

from decimal import Decimal

import pytest

from generation.registry import get_backend
from jobs.invocations import current_invocation, new_invocation
from jobs.models import Charge, ChargeStatus, ChargeUnit, Invocation

pytestmark = pytest.mark.django_db


def test_a_provider_attempt_has_an_invocation_with_its_charge_reserved(user, make_dream, cloud):
    dream = make_dream(user, backend="nova-reel")
    first = new_invocation(
        job=dream, owner_id=user.pk, backend=get_backend("nova-reel"), video_seconds=6,
        estimate_usd=Decimal("0.48"),
    )  # fmt: skip
    assert first is not None and first.client_token.startswith("dreamsite-")
    charge = first.charge
    assert (charge.unit, charge.quantity, charge.estimated_cost_usd, charge.status) == (
        ChargeUnit.VIDEO_SECONDS, 6, Decimal("0.48"), ChargeStatus.RESERVED,
    )  # fmt: skip
    # The next attempt (a Retry) is a new record with its own token; it is the current one.
    second = new_invocation(
        job=dream, owner_id=user.pk, backend=get_backend("nova-reel"), video_seconds=6,
        estimate_usd=Decimal("0.48"),
    )  # fmt: skip
    assert second is not None and second.client_token != first.client_token
    assert current_invocation(dream) == second


def test_a_gpu_attempt_reserves_its_gpu_seconds_and_has_no_invocation(user, make_dream):
    from generation.gpu.backends import WanBackend

    dream = make_dream(user, backend="wan-flf2v")
    backend = WanBackend()
    assert (
        new_invocation(
            job=dream,
            owner_id=user.pk,
            backend=backend,
            video_seconds=5,
            estimate_usd=Decimal("0"),
            drawn_keyframes=1,
        )  # fmt: skip
        is None
    )
    charge = Charge.objects.get()
    expected = backend.estimated_charge(5, drawn_keyframes=1)
    assert (charge.unit, charge.quantity) == (ChargeUnit.GPU_SECONDS, expected.quantity)
    assert not Invocation.objects.exists()


def test_an_animatic_attempt_reserves_nothing(user, make_dream):
    dream = make_dream(user)
    assert (
        new_invocation(
            job=dream,
            owner_id=user.pk,
            backend=get_backend("animatic"),
            video_seconds=6,
            estimate_usd=Decimal("0"),
        )  # fmt: skip
        is None
    )
    assert not Charge.objects.exists() and not Invocation.objects.exists()
