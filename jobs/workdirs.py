"""Private work folders for job attempts, and removing those a killed process left behind.

A render copies the user's photos and writes partial videos into a temporary folder. Python
removes it when the attempt ends, but not when the process is killed; so each folder is named
after the process that made it (``dream-12-pid4711-…``) under ``JOB_WORK_DIR``, and
``remove_orphans`` deletes those whose process is gone. Every worker process calls it when it
boots (``jobs.middleware``), the embedded worker when the web process starts, and the sweeper
on every round.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

_OWNER = re.compile(r"-pid(\d+)-")


def work_folder(job_log_id: str) -> tempfile.TemporaryDirectory[str]:
    """A new private folder for one attempt of a job (``job_log_id``, e.g. "dream-12"),
    removed when the ``with`` block ends."""
    root = Path(settings.JOB_WORK_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix=f"{job_log_id}-pid{os.getpid()}-", dir=root)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphans() -> int:
    """Delete the work folders under ``JOB_WORK_DIR`` whose process no longer runs on this
    machine; returns how many. Folders of live processes (this one included) are kept."""
    root = Path(settings.JOB_WORK_DIR)
    if not root.is_dir():
        return 0
    removed = 0
    for folder in root.iterdir():
        match = _OWNER.search(folder.name)
        if not folder.is_dir() or match is None or _alive(int(match.group(1))):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    if removed:
        logger.info("Removed %d work folder(s) left by stopped processes.", removed)
    return removed
