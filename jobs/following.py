"""Following a job from a command line until it settles (``manage.py render_dream`` and
``render_film``): one line each time what it shows changes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.core.management.base import CommandError

from .models import ACTIVE_STATUSES, Job

J = TypeVar("J", bound=Job)

#: Seconds between two looks at the job's row.
POLL_SECONDS = 0.25


def describe(job: Job) -> str:
    """The line a command prints for ``job``: its status, stage and percent done."""
    return f"{job.get_status_display()}: {job.stage} {job.progress * 100:.0f}%"


def follow(
    job: J,
    *,
    timeout: float,
    write: Callable[[str], None],
    line: Callable[[J], str] = describe,
    what: str = "job",
) -> J:
    """Look at ``job``'s row every ``POLL_SECONDS`` until it is no longer queued or running,
    calling ``write(line(job))`` whenever the line changes; returns it, settled. Raises
    ``CommandError`` after ``timeout`` seconds (the ``what`` goes on without the command)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        job.refresh_from_db()
        shown = line(job)
        if shown != last:
            write(shown)
            last = shown
        if job.status not in ACTIVE_STATUSES:
            return job
        if time.monotonic() > deadline:
            raise CommandError(f"Gave up waiting after {timeout:.0f} s; the {what} goes on.")
        time.sleep(POLL_SECONDS)
