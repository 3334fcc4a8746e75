"""The real portal in a real browser: a server process on a free port with its own database
and media folder, driven by Playwright in Debian's chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail(
            "Debian's chromium is missing: `make test` installs it (apt-get install chromium)."
        )
    return {
        **browser_type_launch_args,
        "executable_path": executable,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--autoplay-policy=no-user-gesture-required",
        ],
    }


class Portal:
    """A portal server process in the embedded mode, with its own database and media folder."""

    def __init__(self, home: Path) -> None:
        self.home = home
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
        }
        self.log_path = home / "server.log"
        self.process: subprocess.Popen | None = None
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail("The portal did not start:\n" + self.log_path.read_text())
                time.sleep(0.2)

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


@pytest.fixture
def portal_server(tmp_path_factory):
    """The running portal (see ``Portal``); stopped after the test."""
    server = Portal(tmp_path_factory.mktemp("portal"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def portal(portal_server) -> str:
    """Base URL of a freshly migrated portal in the embedded mode."""
    return portal_server.url
