"""Real processes for the tests that cross process boundaries: Dramatiq worker processes, a
private Redis server the test may stop and restart, and a throwaway PostgreSQL database."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import redis

from tests.portal import ROOT, _free_port


class WorkerProcess:
    """``manage.py rundramatiq`` (one process, one thread) on ``queues``, with ``env`` on top
    of this process's environment. Its log is written to ``home``."""

    def __init__(self, queues: tuple[str, ...], home: Path, env: dict[str, str]) -> None:
        self.log_path = home / f"worker-{'-'.join(queues)}-{os.urandom(3).hex()}.log"
        command = [sys.executable, "manage.py", "rundramatiq", "--skip-logging"]
        command += ["--queues", *queues, "--processes", "1", "--threads", "1"]
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, "EMBEDDED_WORKERS": "false", "LOG_FORMAT": "json", **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group, so SIGKILL reaches the forked worker too.
                start_new_session=True,
            )

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text()


class SweeperProcess:
    """``manage.py sweep_jobs --every 1`` with short allowances (``SWEEP_*`` in ``env``)."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.log_path = home / "sweeper.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "sweep_jobs", "--every", "1"],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


class RedisServer:
    """A private ``redis-server`` on a free localhost port that keeps nothing on disk, as the
    shared one here: a restart empties it. For tests that stop Redis under running jobs
    without touching the Redis the rest of the suite uses."""

    def __init__(self, home: Path) -> None:
        self.port = _free_port()
        self.home = home
        self.process: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        executable = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [executable, "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.home)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


class ScratchDatabase:
    """A fresh, empty PostgreSQL database on the server ``DATABASE_URL`` names, dropped again
    by ``drop``: processes the test starts migrate and share it."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url.rsplit("/", 1)[0]
        self.name = f"dreamsite_scratch_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(f"{self.server_url}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')

    @property
    def url(self) -> str:
        return f"{self.server_url}/{self.name}"

    def drop(self) -> None:
        with psycopg.connect(f"{self.server_url}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
