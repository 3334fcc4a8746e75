"""The job kinds a site runs, as the products register them in their ``AppConfig.ready``.

``jobs`` knows a dream or a film's scene only through what its kind registers here: its model,
the actor that renders it on this machine, and how to build its clip request and keep its clip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from generation.video import ClipRequest

from .models import Job


@dataclass(frozen=True)
class JobKind:
    """One kind of job.

    - ``name``: the word in events, logs and metrics ("dream");
    - ``model``: its ``Job`` subclass;
    - ``render_actor``: the name of the actor that renders one by id on this machine;
    - ``clip_request(job, workdir=..., for_provider=...)``: its ``ClipRequest``, with any
      images copied from storage into ``workdir`` (only what a provider is sent when
      ``for_provider``); raises ``generation.video.InvalidClipRequest`` when it cannot be made;
    - ``store_clip(job, clip=..., cost_usd=...)``: saves a finished clip and marks the job
      succeeded (``jobs.lifecycle.finish``); returns whether it did (False: cancelled meanwhile,
      nothing kept);
    - ``owned(user)``: the jobs of this kind ``user`` may follow on the feed;
    - ``queue``: the queue its render actor always runs on (None: the one its backend names);
    - ``on_settled(job)``: called once a job of this kind succeeded, failed or was cancelled,
      after the change commits (a film's scene moves its film on).
    """

    name: str
    model: type[Job]
    render_actor: str
    clip_request: Callable[..., ClipRequest]
    store_clip: Callable[..., bool]
    owned: Callable[[Any], QuerySet[Any]]
    queue: str | None = None
    on_settled: Callable[[Any], None] | None = None


_kinds: dict[str, JobKind] = {}


def register(kind: JobKind) -> None:
    """Add ``kind`` (called once per kind from an ``AppConfig.ready``)."""
    _kinds[kind.name] = kind


def get(name: str) -> JobKind:
    """The kind called ``name``. Raises ``KeyError`` for one not registered."""
    return _kinds[name]


def of(job: Job) -> JobKind:
    """The kind of ``job``."""
    return _kinds[job.job_kind]


def settled(job: Job) -> None:
    """Tell ``job``'s kind that it succeeded, failed or was cancelled, once the current
    transaction commits (no-op for a kind without ``on_settled``)."""
    kind = _kinds.get(job.job_kind)
    if kind is not None and kind.on_settled is not None:
        hook = kind.on_settled
        transaction.on_commit(lambda: hook(job))


def all_kinds() -> list[JobKind]:
    """Every registered kind, in registration order."""
    return list(_kinds.values())
