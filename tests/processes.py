"""Real processes for the tests that cross process boundaries: Dramatiq worker processes, a
private Redis server the test may stop and restart, and a throwaway PostgreSQL database."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
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


class PostgresServer:
    """A private PostgreSQL server (Debian's binaries, trust auth, no fsync) on a free
    localhost port, with one empty database: for tests that restart PostgreSQL under running
    jobs without touching the server the rest of the suite uses. Run as the ``postgres`` user
    when the tests run as root, since PostgreSQL refuses root."""

    def __init__(self) -> None:
        self.bin = Path(
            next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))), "postgres")
        ).parent
        self.port = _free_port()
        # Its own folder outside pytest's (which only root may enter).
        self.data = Path(tempfile.mkdtemp(prefix="dreamsite-pg-"))
        self.process: subprocess.Popen | None = None
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust")

    def _as_owner(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command

    def _run(self, *command: str) -> None:
        subprocess.run(self._as_owner(list(command)), check=True, capture_output=True)

    @property
    def url(self) -> str:
        return f"{self.server_url}/dreamsite"

    @property
    def server_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def start(self) -> PostgresServer:
        command = [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        command += [
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.data}",
        ]
        command += ["-c", "fsync=off", "-c", "full_page_writes=off"]
        self.process = subprocess.Popen(
            self._as_owner(command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(f"{self.server_url}/postgres", connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with psycopg.connect(f"{self.server_url}/postgres", autocommit=True) as admin:
            if not admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = 'dreamsite'"
            ).fetchone():
                admin.execute("CREATE DATABASE dreamsite")
        return self

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as in a restart."""
        if self.process is not None:
            self._run(str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast")
            self.process.wait(timeout=30)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


class RabbitmqVhost:
    """A private virtual host on the local RabbitMQ (queues of its own, removed by ``remove``),
    and a restart of that RabbitMQ node's application, for tests of jobs across a broker
    restart. Needs ``rabbitmqctl`` (Debian's rabbitmq-server package)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5672) -> None:
        self.name = f"dreamsite-{uuid.uuid4().hex[:10]}"
        self.url = f"amqp://guest:guest@{host}:{port}/{self.name}"
        self._ctl("add_vhost", self.name)
        self._ctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")

    @staticmethod
    def _ctl(*args: str) -> None:
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)

    def restart_broker(self, down_seconds: float = 2.0) -> None:
        """Stop RabbitMQ (every connection closes), wait, start it again; returns once it
        accepts work. Durable queues and persistent messages survive."""
        self._ctl("stop_app")
        time.sleep(down_seconds)
        self._ctl("start_app")
        self._ctl("await_startup")

    def remove(self) -> None:
        self._ctl("delete_vhost", self.name)
