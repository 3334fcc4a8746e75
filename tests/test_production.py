"""Production settings as an operator meets them: `check --deploy` is clean, a missing
setting stops the process with its name, and the production web process (daphne, DEBUG off)
sends the security headers, redirects to HTTPS, serves hashed static files and answers the
load balancer's health probe."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys

import pytest

from tests.portal import ROOT, Portal
from tests.support import PRODUCTION_ENV


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    merged = {**os.environ, **PRODUCTION_ENV, **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=merged,
        capture_output=True,
        text=True,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", DATABASE_URL=f"sqlite:///{tmp_path}/db"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("missing", "said"),
    [
        ("SECRET_KEY", "set SECRET_KEY"),
        ("ALLOWED_HOSTS", "set ALLOWED_HOSTS"),
        ("EMAIL_URL", "set EMAIL_URL"),
    ],
)
def test_debug_off_without_a_required_setting_refuses_to_start(missing, said):
    env = {**os.environ, **PRODUCTION_ENV}
    env.pop(missing)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and said in result.stderr


def test_email_url_configures_smtp():
    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings as s; "
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS)",
    )
    assert result.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        "587",
        "True",
    ], result.stderr


@pytest.fixture(scope="module")
def production_portal(tmp_path_factory):
    portal = Portal(
        tmp_path_factory.mktemp("production"),
        extra_env={**PRODUCTION_ENV, "EMBEDDED_WORKERS": "false"},
        server="daphne",
        collectstatic=True,
    )
    portal.start()
    yield portal
    portal.stop()


def fetch(portal: Portal, path: str, *, host="dreams.example.com", https=True):
    connection = http.client.HTTPConnection("127.0.0.1", portal.port, timeout=10)
    headers = {"Host": host}
    if https:
        # What the TLS-terminating proxy adds.
        headers["X-Forwarded-Proto"] = "https"
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response, body


def test_production_pages_carry_the_security_headers(production_portal):
    response, body = fetch(production_portal, "/")
    assert response.status == 200, body[:500]
    assert response.getheader("Strict-Transport-Security") == (
        "max-age=31536000; includeSubDomains; preload"
    )
    policy = response.getheader("Content-Security-Policy")
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"):
        assert directive in policy
    assert response.getheader("X-Frame-Options") == "DENY"
    assert response.getheader("X-Content-Type-Options") == "nosniff"

    login, _ = fetch(production_portal, "/accounts/login/")
    cookie = login.getheader("Set-Cookie")
    assert cookie.startswith("csrftoken=") and "Secure" in cookie


def test_plain_http_is_redirected_and_unknown_hosts_refused(production_portal):
    response, _ = fetch(production_portal, "/accounts/login/", https=False)
    assert response.status == 301
    assert response.getheader("Location") == "https://dreams.example.com/accounts/login/"
    response, _ = fetch(production_portal, "/", host="attacker.example.net")
    assert response.status == 400


def test_static_files_are_served_under_hashed_names_and_cached_forever(production_portal):
    _, body = fetch(production_portal, "/")
    stylesheet = re.search(rb'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', body)
    assert stylesheet, body[:2000]
    response, css = fetch(production_portal, stylesheet.group(1).decode())
    assert response.status == 200 and len(css) > 100
    assert "immutable" in response.getheader("Cache-Control")


def test_pages_name_their_icon_so_browsers_do_not_ask_for_a_missing_favicon(production_portal):
    # The operators' admin pages too: Django's own templates name no icon.
    for path in ("/", "/accounts/login/", "/admin/login/"):
        response, body = fetch(production_portal, path)
        assert response.status == 200, (path, response.status)
        icon = re.search(rb'<link rel="icon" href="(/static/img/favicon\.[0-9a-f]{12}\.svg)"', body)
        assert icon, body[:2000]
    response, svg = fetch(production_portal, icon.group(1).decode())
    assert response.status == 200 and response.getheader("Content-Type") == "image/svg+xml"
    assert svg.startswith(b"<svg")


def test_health_probe_answers_on_a_private_address_over_plain_http(production_portal):
    import json

    response, body = fetch(production_portal, "/health/", host="10.0.3.7:8000", https=False)
    assert response.status == 200, body
    report = json.loads(body)
    assert report["status"] == "ok"
    assert set(report["checks"]) == {"database", "broker", "channel_layer", "storage"}
    assert all(check["ok"] for check in report["checks"].values())


def test_daphne_runs_the_whole_middleware_stack_in_one_mode(settings, caplog):
    """Django logs each switch between sync and async it puts in the stack (with DEBUG on).
    Every view here is synchronous, so the one switch must be at the bottom, to reach the
    view: a switch per middleware costs a thread hop on every page."""
    from django.core.handlers.asgi import ASGIHandler

    settings.DEBUG = True
    with caplog.at_level("DEBUG", logger="django.request"):
        ASGIHandler()  # builds the stack as daphne does
    switches = [r.getMessage() for r in caplog.records if "handler adapted" in r.getMessage()]
    assert switches == [
        "Asynchronous handler adapted for middleware "
        "dreamsite.middleware.SynchronousStackMiddleware."
    ]


@pytest.mark.services
def test_the_web_process_reuses_its_redis_cache_connections(tmp_path):
    """Daphne runs each request in a fresh context, where Django builds its cache objects
    anew: each sign-in attempt (allauth's rate limits use the cache) must still not open a
    new connection to Redis."""
    import redis

    from tests.processes import RedisServer

    server = RedisServer(tmp_path).start()
    portal = Portal(
        tmp_path,
        extra_env={**PRODUCTION_ENV, "EMBEDDED_WORKERS": "false", "CACHE_URL": server.url(0)},
        server="daphne",
        collectstatic=True,
    )
    try:
        portal.start()
        stats = redis.Redis(port=server.port)
        before = stats.info("stats")["total_connections_received"]
        for attempt in range(8):
            response = sign_in(portal, "nobody@example.com", f"wrong password {attempt}")
            assert response.status in (200, 429), response.status
        opened = stats.info("stats")["total_connections_received"] - before - 1  # ours
        assert opened <= 2, f"{opened} Redis connections for 8 sign-in attempts"
    finally:
        portal.stop()
        server.stop()


def sign_in(portal: Portal, email: str, password: str) -> http.client.HTTPResponse:
    """GET the sign-in page for its CSRF token, then POST the form, as a browser does."""
    page, body = fetch(portal, "/accounts/login/")
    assert page.status == 200, body[:500]
    cookie = page.getheader("Set-Cookie").split(";")[0]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    form = f"csrfmiddlewaretoken={token}&login={email}&password={password.replace(' ', '+')}"
    connection = http.client.HTTPConnection("127.0.0.1", portal.port, timeout=10)
    connection.request(
        "POST",
        "/accounts/login/",
        body=form,
        headers={
            "Host": "dreams.example.com",
            "X-Forwarded-Proto": "https",
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": "https://dreams.example.com/accounts/login/",
        },
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    return response
