"""ASGI entry point for the server (runserver, daphne).

In the embedded mode this process also runs the job workers (``dreamsite.embedded``).
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamsite.settings")
django.setup()

from dreamsite.routing import application  # noqa: E402
from jobs.embedded import start_embedded_workers  # noqa: E402

start_embedded_workers()

__all__ = ["application"]
