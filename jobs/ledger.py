"""The spend ledger: one ``Charge`` per paid call, reserved when the call is made, settled
when it is billed, void when it never will be. ``jobs.budget`` sums it against each user's daily
budget; the operators' spend page lists it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from generation.video import LocalCharge

from .models import Charge, ChargeStatus, Job


def reserve(
    *,
    owner_id: int,
    job: Job | None,
    backend: str,
    unit: str,
    quantity: float,
    estimate_usd: Decimal,
) -> Charge:
    """Record a paid call about to be made: ``quantity`` of ``unit`` (a ``ChargeUnit``) on
    ``backend`` for ``job`` of user ``owner_id``, expected to cost ``estimate_usd``. It counts
    against the budget at that estimate until settled or voided. Call it in the transaction
    that creates the work, after ``jobs.budget.reserve`` checked the budget."""
    return Charge.objects.create(
        owner_id=owner_id,
        job_type=ContentType.objects.get_for_model(job) if job is not None else None,
        job_id=job.pk if job is not None else None,
        backend=backend,
        unit=unit,
        quantity=quantity,
        estimated_cost_usd=estimate_usd,
    )


def set_status(charge_id: int, status: str, *, cost_usd: Decimal | None = None) -> None:
    """Move charge ``charge_id`` to ``status`` (a ``ChargeStatus``); ``cost_usd`` is the
    actual cost of a settled one (None keeps the estimate as its cost)."""
    fields: dict[str, Any] = {"status": status}
    if status == ChargeStatus.SETTLED:
        fields.update(cost_usd=cost_usd, settled_at=timezone.now())
    else:
        fields.update(cost_usd=None, settled_at=None)
    Charge.objects.filter(pk=charge_id).update(**fields)


def detach(job: Job) -> None:
    """``job`` is being deleted: its charges stay in the ledger, pointing at nothing."""
    Charge.objects.filter(job_type=ContentType.objects.get_for_model(job), job_id=job.pk).update(
        job_id=None
    )


def _reserved_local(job: Job) -> Any:
    return Charge.objects.filter(
        job_type=ContentType.objects.get_for_model(job),
        job_id=job.pk,
        status=ChargeStatus.RESERVED,
        invocation__isnull=True,
    )


def has_reserved_local(job: Job) -> bool:
    """Whether ``job`` has a local render's charge reserved (see ``settle_local``)."""
    return bool(_reserved_local(job).exists())


def settle_local(job: Job, *, charge: LocalCharge | None = None) -> None:
    """``job``'s local render ended: its reserved charge with no invocation (a GPU's) is
    settled with the render's actual ``charge`` (quantity and cost) when it succeeded, void
    otherwise (a failed or cancelled render bills nothing). No-op when it has none."""
    reserved = _reserved_local(job)
    if charge is None:
        reserved.update(status=ChargeStatus.VOID, cost_usd=None, settled_at=None)
        return
    reserved.update(
        status=ChargeStatus.SETTLED,
        quantity=charge.quantity,
        cost_usd=charge.cost_usd,
        settled_at=timezone.now(),
    )


def settle_tokens(charge_id: int, *, tokens: int, cost_usd: Decimal) -> None:
    """A language model's reserved charge ``charge_id`` is billed ``tokens`` (in and out) at
    ``cost_usd``: settled, or void when no token was used (the call was refused)."""
    if not tokens:
        set_status(charge_id, ChargeStatus.VOID)
        return
    Charge.objects.filter(pk=charge_id).update(quantity=tokens)
    set_status(charge_id, ChargeStatus.SETTLED, cost_usd=cost_usd)
