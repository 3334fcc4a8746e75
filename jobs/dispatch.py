"""Sending a job's next message, by actor name, so no service imports an actor module.

A service (or the sweeper, or the embedded resume) calls ``send_next`` for a job that is
queued; an actor sends the ``Step`` its service returned. Actors are found on the broker by
name: every app imports its ``tasks`` module in its ``AppConfig.ready``, so they are declared
in every process.
"""

from __future__ import annotations

from dataclasses import dataclass

import dramatiq
from django.db import transaction

from . import kinds
from .events import publish
from .invocations import current_invocation
from .models import Job


@dataclass(frozen=True)
class Step:
    """A message to send: ``actor`` (its name) with ``args``, after ``delay_seconds``."""

    actor: str
    args: tuple[int, ...]
    delay_seconds: float = 0.0


def send(step: Step) -> None:
    """Send ``step`` through the broker now."""
    actor = dramatiq.get_broker().get_actor(step.actor)
    actor.send_with_options(args=step.args, delay=int(step.delay_seconds * 1000) or None)


def next_step(job: Job) -> Step:
    """The message that moves a queued ``job`` on: the one rule for every kind.

    A job whose backend is a provider has an invocation: start it (a start repeats its
    client token, and one already started is only polled again). Any other job is rendered
    by its kind's render actor.
    """
    invocation = current_invocation(job)
    if invocation is not None:
        return Step("start_invocation", (invocation.pk,))
    return Step(kinds.of(job).render_actor, (job.pk,))


def send_next(job: Job) -> None:
    """Send ``job``'s next message now and publish its state."""
    send(next_step(job))
    publish(job)


def send_next_on_commit(job: Job) -> None:
    """Send ``job``'s next message once the current transaction commits (so a worker never
    looks for a row that is not there yet), then publish its state."""
    transaction.on_commit(lambda: send_next(job))
