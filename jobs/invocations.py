"""A job's invocations at a provider: created before any call, let go when the job stops."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone

from generation.video import ClipBackend, ClipInvocationBackend

from .models import Invocation, InvocationStatus, Job


def invocations_of(job: Job) -> QuerySet[Invocation]:
    """Every invocation ``job`` made, newest first."""
    return Invocation.objects.filter(
        job_type=ContentType.objects.get_for_model(job), job_id=job.pk
    ).order_by("-id")


def current_invocation(job: Job) -> Invocation | None:
    """The invocation of ``job``'s latest attempt on its current backend, if it has one."""
    return invocations_of(job).filter(backend=job.backend).first()


def new_invocation(
    *, job: Job, owner_id: int, backend: ClipBackend, video_seconds: float, estimate_usd: Decimal
) -> Invocation | None:
    """The invocation record of ``job``'s next attempt on ``backend``, or None when the
    backend renders locally. Its client token is saved before any call, so a start repeated
    after a crash sends the same token and the provider bills once. ``video_seconds`` is the
    length asked for; ``estimate_usd`` what it is expected to cost."""
    if not isinstance(backend, ClipInvocationBackend):
        return None
    return Invocation.objects.create(
        owner_id=owner_id,
        job_type=ContentType.objects.get_for_model(job),
        job_id=job.pk,
        backend=backend.name,
        model_id=backend.model_id,
        region=backend.region,
        client_token=f"dreamsite-{uuid.uuid4().hex}",
        video_seconds=video_seconds,
        estimated_cost_usd=estimate_usd,
    )


def let_go_of_invocations(job: Job, *, detach: bool = False) -> None:
    """``job`` stopped: its invocations that never reached the provider are cancelled
    (nothing billed), those that did are abandoned (the provider may still finish and bill
    them). With ``detach`` (the job is being deleted) they stop pointing at it, and stay as
    the spending record."""
    now = timezone.now()
    invocations = invocations_of(job)
    invocations.filter(status=InvocationStatus.QUEUED).update(
        status=InvocationStatus.CANCELED, finished_at=now
    )
    invocations.filter(status__in=(InvocationStatus.STARTING, InvocationStatus.IN_PROGRESS)).update(
        status=InvocationStatus.ABANDONED, finished_at=now
    )
    if detach:
        invocations.update(job_id=None)
