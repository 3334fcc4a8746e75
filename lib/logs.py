"""Job context for log lines: every line logged while a job runs carries its ids.

Actors open ``job_context(job_id=...)``; services that learn more (the dream behind an
invocation) call ``bind``. ``JobContextFilter`` copies the ids onto each record, where the
JSON formatter writes them as fields (``job_id``, ``invocation_id``, ``message_id``) and the
plain formatter as a ``[dream-12]`` prefix.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("job_log_context")


@contextlib.contextmanager
def job_context(**ids: object) -> Iterator[None]:
    """Attach ``ids`` (e.g. ``job_id="dream-12"``) to every log line in this block."""
    token = _context.set({**_context.get({}), **{k: str(v) for k, v in ids.items()}})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**ids: object) -> None:
    """Add ``ids`` to the current job context, until the enclosing ``job_context`` ends."""
    _context.set({**_context.get({}), **{k: str(v) for k, v in ids.items()}})


def job_log_id(kind: str, job_id: int) -> str:
    """The job id that logs, metrics and the admin use for job ``job_id`` of ``kind``
    ("dream-12"); the same as ``Job.log_id``."""
    return f"{kind}-{job_id}"


class JobContextFilter(logging.Filter):
    """Adds the current job's ids to each record (``record.job_id`` etc.) and ``record.job``,
    a ``"[dream-12] "`` prefix for the plain format (empty outside a job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _context.get({})
        for key, value in ids.items():
            setattr(record, key, value)
        if not hasattr(record, "message_id"):
            message_id = _current_message_id()
            if message_id:
                record.message_id = message_id
        record.job = f"[{ids['job_id']}] " if "job_id" in ids else ""
        return True


def _current_message_id() -> str:
    try:
        from dramatiq.middleware import CurrentMessage
    except ImportError:  # pragma: no cover - dramatiq is a requirement
        return ""
    message = CurrentMessage.get_current_message()
    return message.message_id if message else ""
