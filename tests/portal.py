"""A real portal server process for browser tests and benchmarks: ``manage.py runserver``
in the embedded mode (in-process workers), with its own SQLite file and media folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Debian's chromium, run headless as root on a machine with no outside network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Portal:
    """A portal server process, by default in the embedded mode, with its own database and
    media folder. ``server="daphne"`` runs the production web process instead of runserver;
    ``collectstatic`` gathers the hashed static files first, as a deployment does."""

    def __init__(
        self,
        home: Path,
        extra_env: dict[str, str] | None = None,
        *,
        server: str = "runserver",
        collectstatic: bool = False,
    ) -> None:
        self.home = home
        self.server = server
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{home / 'db.sqlite3'}",
            "MEDIA_ROOT": str(home / "media"),
            "DEBUG": "true",
            "EMBEDDED_WORKERS": "true",
            "DRAMATIQ_BROKER_URL": "",
            "CHANNEL_LAYER_URL": "",
            "STATIC_ROOT": str(home / "static"),
            **(extra_env or {}),
        }
        self.log_path = home / "server.log"
        self.process: subprocess.Popen | None = None
        self._manage("migrate", "--noinput")
        if collectstatic:
            self._manage("collectstatic", "--noinput")

    def _manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def create_operator(self, email: str, password: str) -> None:
        """A superuser in this portal's database, as an operator makes one."""
        subprocess.run(
            [sys.executable, "manage.py", "createsuperuser", "--noinput", "--email", email],
            cwd=ROOT,
            env={**self.env, "DJANGO_SUPERUSER_PASSWORD": password},
            check=True,
            capture_output=True,
        )

    def command(self) -> list[str]:
        if self.server == "daphne":
            return [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "dreamsite.asgi:application",
            ]
        # As `make run` starts it: static files through WhiteNoise, as in production.
        return [
            sys.executable,
            "manage.py",
            "runserver",
            "--noreload",
            "--nostatic",
            f"127.0.0.1:{self.port}",
        ]

    def start(self) -> None:
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("The portal did not start:\n" + self.log_path.read_text())
            time.sleep(0.2)

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
