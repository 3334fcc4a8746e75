"""A throwaway embedded site for a benchmark that runs the real services and actors: its own
folder, SQLite database and media, no broker or channel layer of a running site."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def scratch_site(prefix: str, **settings: str) -> Path:
    """Make a folder (named from ``prefix``), point Django's settings at a new SQLite database
    and media folder in it, the in-process broker and channel layer and no embedded worker
    (``settings``, environment names and values, go on top), set Django up and migrate.
    Returns the folder."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "dreamsite.settings",
            "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
            "MEDIA_ROOT": str(folder / "media"),
            "DRAMATIQ_BROKER_URL": "",
            "CHANNEL_LAYER_URL": "",
            "EMBEDDED_WORKERS": "false",
            **settings,
        }
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return folder
