"""How a cloud job fails: the provider's refusals, filters and outages turned into a message
the user can act on, the invocation finished with the job."""

from __future__ import annotations

import logging
from typing import Any

from generation import aws
from generation.availability import mark_unavailable
from generation.registry import UnknownBackend, get_backend
from generation.video import ClipInvocationBackend

from . import lifecycle
from .invocations import set_status
from .models import FailureKind, Invocation, Job
from .models import InvocationStatus as Status

logger = logging.getLogger(__name__)

CONTENT_FILTER_AT_SUBMIT = (
    "Amazon Bedrock's content filter refused this prompt or the character's photo. "
    "Edit the prompt and try again."
)
CONTENT_FILTER_AFTER_GENERATION = (
    "Amazon Bedrock's content filter blocked the generated video. Edit the prompt and try again."
)


def finish_invocation(invocation: Invocation, status: str, **fields: Any) -> None:
    """Move ``invocation`` to ``status`` (a guarded update) with ``fields``."""
    set_status(invocation, status, **fields)


def fail_invocation(
    invocation: Invocation,
    job: Job,
    *,
    stage: str,
    message: str,
    kind: str,
    status: str = Status.FAILED,
    operator_note: str = "",
) -> None:
    """Finish ``invocation`` as ``status`` and fail its job at ``stage`` with ``message`` (for
    the user), ``kind`` (a ``FailureKind``) and ``operator_note`` (for the admin)."""
    finish_invocation(invocation, status, failure_message=operator_note or message)
    lifecycle.fail(job, stage=stage, message=message, kind=kind, operator_note=operator_note)


def handle_provider_error(
    error: aws.ProviderError,
    *,
    invocation: Invocation,
    job: Job,
    backend: ClipInvocationBackend,
    stage: str,
) -> None:
    """Fail the job in a way the user can act on; busy errors are the caller's to retry."""
    note = f"{error.code}: {error.message}"
    if isinstance(error, aws.ContentFiltered):
        message, kind = CONTENT_FILTER_AT_SUBMIT, FailureKind.CONTENT_FILTER
    elif isinstance(error, aws.ProviderUnavailable):
        logger.error("%s is unavailable (%s); %s failed.", backend.label, note, job.log_id)
        mark_unavailable(backend, note)
        message = (
            f"{backend.label} is unavailable right now. Try another backend, or try again later."
        )
        kind = FailureKind.UNAVAILABLE
    else:
        logger.error("%s refused %s: %s", backend.label, job.log_id, note)
        message = f"{backend.label} refused the request: {error.message}"
        kind = FailureKind.PROVIDER
    fail_invocation(invocation, job, stage=stage, message=message, kind=kind, operator_note=note)


def backend_or_fail(
    invocation: Invocation, job: Job, *, stage: str, status: str
) -> ClipInvocationBackend | None:
    """The invocation's backend, or None after failing the job because it was removed from
    the settings while the job ran."""
    try:
        backend = get_backend(invocation.backend, offered_only=False)
        if isinstance(backend, ClipInvocationBackend):
            return backend
    except UnknownBackend:
        pass
    fail_invocation(
        invocation,
        job,
        stage=stage,
        message=f"The backend “{invocation.backend}” is no longer configured on this site.",
        kind=FailureKind.UNAVAILABLE,
        status=status,
    )
    return None
