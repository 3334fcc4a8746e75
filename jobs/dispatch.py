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

from generation.registry import UnknownBackend, backend_class

from . import kinds
from .events import publish
from .invocations import current_invocation
from .models import Job


@dataclass(frozen=True)
class Step:
    """A message to send: ``actor`` (its name) with ``args``, after ``delay_seconds``, on
    ``queue`` (None: the actor's own)."""

    actor: str
    args: tuple[int, ...]
    delay_seconds: float = 0.0
    queue: str | None = None


def send(step: Step) -> None:
    """Send ``step`` through the broker now. A step for another queue than the actor's
    declares that queue, so the workers that serve it (``rundramatiq --queues gpu``) take it;
    they find the actor by name."""
    broker = dramatiq.get_broker()
    actor = broker.get_actor(step.actor)
    message = actor.message_with_options(args=step.args)
    if step.queue and step.queue != actor.queue_name:
        broker.declare_queue(step.queue)
        message = message.copy(queue_name=step.queue)
    broker.enqueue(message, delay=int(step.delay_seconds * 1000) or None)


def next_step(job: Job) -> Step:
    """The message that moves a queued ``job`` on: the one rule for every kind.

    A kind that pins its queue (a film: it moves on ``media`` whatever its scenes' backend)
    gets its render actor there. A job whose backend is a provider has an invocation: start
    it (a start repeats its client token, and one already started is only polled again).
    Any other job is rendered by its kind's render actor, on the queue its backend names
    (``media`` for the animatic, ``gpu`` for a local model); a backend no longer configured
    leaves the actor's own queue, where the render fails with that reason.
    """
    kind = kinds.of(job)
    if kind.queue is not None:
        return Step(kind.render_actor, (job.pk,), queue=kind.queue)
    invocation = current_invocation(job)
    if invocation is not None:
        return Step("start_invocation", (invocation.pk,))
    try:
        queue: str | None = backend_class(job.backend).queue
    except (UnknownBackend, ImportError):
        queue = None
    return Step(kind.render_actor, (job.pk,), queue=queue)


def send_next(job: Job) -> None:
    """Send ``job``'s next message now and publish its state."""
    send(next_step(job))
    publish(job)


def send_next_on_commit(job: Job) -> None:
    """Send ``job``'s next message once the current transaction commits (so a worker never
    looks for a row that is not there yet), then publish its state."""
    transaction.on_commit(lambda: send_next(job))
