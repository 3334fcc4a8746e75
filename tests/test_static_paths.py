"""Static files under the portal as `make run` starts it: served the way production serves
them (WhiteNoise), so a path that climbs out of the static folder is a 404, not a 500."""

import urllib.error
import urllib.request

import pytest

from tests.portal import Portal


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    server = Portal(tmp_path_factory.mktemp("static-portal"))
    server.start()
    yield server
    server.stop()


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize(
    "path",
    [
        "/static/..%2fdb.sqlite3",
        "/static/..%2f..%2fmanage.py",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/css/..%2f..%2f..%2fdreamsite%2fsettings.py",
    ],
)
def test_paths_that_leave_the_static_folder_are_404(portal, path):
    assert status(portal.url + path) == 404
    assert "Traceback" not in portal.log_path.read_text()


def test_real_static_files_are_served(portal):
    assert status(portal.url + "/static/css/dreamsite.css") == 200
