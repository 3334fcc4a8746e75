"""A job's invocations at a provider: created before any call, with their line in the spend
ledger; every change of status goes through ``set_status``, which keeps that line in step."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from generation.video import ClipBackend, ClipInvocationBackend, ClipRenderer

from . import ledger
from .models import (
    CHARGE_STATUS_OF,
    Charge,
    ChargeStatus,
    ChargeUnit,
    Invocation,
    InvocationStatus,
    Job,
)

#: Statuses after which the invocation is over (``finished_at`` is set).
_FINAL = (
    InvocationStatus.COMPLETED,
    InvocationStatus.FAILED,
    InvocationStatus.CANCELED,
    InvocationStatus.ABANDONED,
)


def invocations_of(job: Job) -> QuerySet[Invocation]:
    """Every invocation ``job`` made, newest first."""
    return Invocation.objects.filter(
        job_type=ContentType.objects.get_for_model(job), job_id=job.pk
    ).order_by("-id")


def current_invocation(job: Job) -> Invocation | None:
    """The invocation of ``job``'s latest attempt on its current backend, if it has one."""
    return invocations_of(job).filter(backend=job.backend).first()


def new_invocation(
    *,
    job: Job,
    owner_id: int,
    backend: ClipBackend,
    video_seconds: float,
    estimate_usd: Decimal,
    drawn_keyframes: int = 0,
) -> Invocation | None:
    """The invocation record of ``job``'s next attempt on ``backend``, with its charge
    reserved in the ledger, or None when the backend renders locally (a renderer's own charge,
    GPU-seconds, is reserved then, settled by ``jobs.ledger.settle_local``). Its client token is
    saved before any call, so a start repeated after a crash sends the same token and the
    provider bills once. ``video_seconds`` is the length asked for; ``estimate_usd`` what it
    is expected to cost; ``drawn_keyframes`` how many keyframes a local GPU draws first (in
    its GPU-seconds). Call it in the transaction that creates the attempt."""
    if not isinstance(backend, ClipInvocationBackend):
        # A local render (a GPU's) may record what it uses; no invocation, no provider.
        local = None
        if isinstance(backend, ClipRenderer):
            local = backend.estimated_charge(video_seconds, drawn_keyframes=drawn_keyframes)
        if local is not None:
            ledger.reserve(
                owner_id=owner_id, job=job, backend=backend.name, unit=local.unit,
                quantity=local.quantity, estimate_usd=local.cost_usd,
            )  # fmt: skip
        return None
    charge = ledger.reserve(
        owner_id=owner_id,
        job=job,
        backend=backend.name,
        unit=ChargeUnit.VIDEO_SECONDS,
        quantity=video_seconds,
        estimate_usd=estimate_usd,
    )
    return Invocation.objects.create(
        owner_id=owner_id,
        job_type=ContentType.objects.get_for_model(job),
        job_id=job.pk,
        charge=charge,
        backend=backend.name,
        model_id=backend.model_id,
        region=backend.region,
        client_token=f"dreamsite-{uuid.uuid4().hex}",
        video_seconds=video_seconds,
        estimated_cost_usd=estimate_usd,
    )


def set_status(
    invocation: Invocation,
    status: str,
    *,
    only_from: Iterable[str] | None = None,
    **fields: Any,
) -> bool:
    """Move ``invocation`` to ``status`` (an ``InvocationStatus``) with ``fields`` (its ARN,
    ``cost_usd`` once completed...), only while it is in one of ``only_from`` when given;
    its ledger charge follows in the same transaction. Returns whether it changed."""
    if status in _FINAL:
        fields.setdefault("finished_at", timezone.now())
    rows = Invocation.objects.filter(pk=invocation.pk)
    if only_from is not None:
        rows = rows.filter(status__in=list(only_from))
    with transaction.atomic():
        changed = bool(rows.update(status=status, **fields))
        if changed and invocation.charge_id is not None:
            ledger.set_status(
                invocation.charge_id, CHARGE_STATUS_OF[status], cost_usd=fields.get("cost_usd")
            )
    if changed:
        invocation.status = status
    return changed


def let_go_of_invocations(job: Job, *, detach: bool = False) -> None:
    """``job`` stopped: its invocations that never reached the provider are cancelled
    (nothing billed, their charges void), those that did are abandoned (the provider may
    still finish and bill them: their charges stay reserved). With ``detach`` (the job is
    being deleted) they and their charges stop pointing at it, and stay as the record."""
    now = timezone.now()
    invocations = invocations_of(job)
    with transaction.atomic():
        never_started = invocations.filter(status=InvocationStatus.QUEUED)
        Charge.objects.filter(invocation__in=never_started).update(status=ChargeStatus.VOID)
        never_started.update(status=InvocationStatus.CANCELED, finished_at=now)
        invocations.filter(
            status__in=(InvocationStatus.STARTING, InvocationStatus.IN_PROGRESS)
        ).update(status=InvocationStatus.ABANDONED, finished_at=now)
        if detach:
            invocations.update(job_id=None)
            ledger.detach(job)
