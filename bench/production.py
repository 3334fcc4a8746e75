"""What the production-topology benchmarks share: a scratch PostgreSQL database, the
environment of a production web or worker process (DEBUG off) on loopback, Django set up in
the benchmark's own process against the same database, and signed-in sessions.

Import this module before anything from Django: it configures the process's environment.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import ScratchDatabase  # noqa: E402
from tests.support import PRODUCTION_ENV  # noqa: E402

#: The PostgreSQL server the scratch databases live on (DATABASE_URL's server, if it names one).
SERVER_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def production_env(database_url: str, **extra: str) -> dict[str, str]:
    """Environment of a production process on loopback: DEBUG off, plain HTTP (no proxy in
    front), ``bench.settings`` (the project's settings plus the trivial baseline view)."""
    return {
        **PRODUCTION_ENV,
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "EMBEDDED_WORKERS": "false",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "STORAGE_BACKEND": "local",
        **extra,
    }


def setup_django(env: dict[str, str]) -> None:
    """Set Django up in this process with ``env`` (call once, before any model import)."""
    os.environ.update(env)
    import django

    django.setup()


def scratch_database() -> ScratchDatabase:
    return ScratchDatabase(SERVER_URL)


def session_cookies(users) -> list[str]:
    """A ``sessionid`` cookie value per user, each a real signed-in session in the database."""
    from django.test import Client

    cookies = []
    for user in users:
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies["sessionid"].value)
    return cookies


def percentiles(values_ms: list[float]) -> str:
    """``p50 … ms, p99 … ms, max … ms`` of ``values_ms``."""
    cuts = statistics.quantiles(values_ms, n=100, method="inclusive")
    return f"p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms, max {max(values_ms):.1f} ms"
