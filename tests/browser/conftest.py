"""The real portal in a real browser: a server process on a free port with its own database
and media folder, driven by Playwright in Debian's chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.portal import CHROMIUM_ARGS, Portal


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
        "args": CHROMIUM_ARGS,
    }


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
