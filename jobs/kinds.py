"""The job kinds a site runs, as the products register them in their ``AppConfig.ready``.

``jobs`` knows a dream or a film only through what its kind registers here: its model and the
actor that moves it on; a kind whose work is one clip (``ClipKind``: a dream, a film's scene)
also says how to build its clip request and keep its clip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from generation.video import ClipRequest

from .models import Job


@dataclass(frozen=True, kw_only=True)
class JobKind:
    """One kind of job.

    - ``name``: the word in events, logs and metrics ("dream");
    - ``model``: its ``Job`` subclass;
    - ``render_actor``: the name of the actor that moves one on by id on this machine;
    - ``owned(user)``: the jobs of this kind ``user`` may follow on the feed;
    - ``queue``: the queue its render actor always runs on (None: the one its backend names);
    - ``on_settled(job)``: called once a job of this kind succeeded, failed or was cancelled,
      after the change commits (a film's scene moves its film on);
    - ``waiting(job)``: whether a running job of this kind that no message holds
      (``lifecycle.release``) waits on other jobs still queued or running (a film on its
      scenes' clips): the sweeper leaves it be, however long they take;
    - ``unprepared()`` and ``prepare_actor``: the jobs not sent to work whose preparation in
      the background is unfinished (a film whose storyboard lacks a keyframe or a narration),
      and the actor that finishes it by id. The embedded resume sends it for each after a
      restart, and the sweeper for each silent longer than ``SWEEP_RENDER_STALL_SECONDS``.
    """

    name: str
    model: type[Job]
    render_actor: str
    owned: Callable[[Any], QuerySet[Any]]
    queue: str | None = None
    on_settled: Callable[[Any], None] | None = None
    waiting: Callable[[Any], bool] | None = None
    unprepared: Callable[[], QuerySet[Any]] | None = None
    prepare_actor: str = ""


@dataclass(frozen=True, kw_only=True)
class ClipKind(JobKind):
    """A kind of job whose work is one clip (a dream, a film's scene), rendered by
    ``jobs.render`` or ``jobs.cloud``:

    - ``clip_request(job, workdir=..., for_provider=...)``: its ``ClipRequest``, with any
      images copied from storage into ``workdir`` (only what a provider is sent when
      ``for_provider``); raises ``generation.video.InvalidClipRequest`` when it cannot be made;
    - ``store_clip(job, clip=..., cost_usd=...)``: saves a finished clip and marks the job
      succeeded (``jobs.lifecycle.finish``); returns whether it did (False: cancelled meanwhile,
      nothing kept).
    """

    clip_request: Callable[..., ClipRequest]
    store_clip: Callable[..., bool]


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


def clip_kind(name: str) -> ClipKind:
    """The clip kind called ``name``. Raises ``KeyError`` for one not registered or whose work
    is not one clip (a film is assembled from its scenes' clips)."""
    kind = _kinds[name]
    if not isinstance(kind, ClipKind):
        raise KeyError(f"{name} is not rendered as one clip")
    return kind


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
