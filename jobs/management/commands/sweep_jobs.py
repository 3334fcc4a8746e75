"""``manage.py sweep_jobs``: the periodic sweep for jobs whose worker or message vanished
(``jobs.sweeper``). Run one such process per site (more are harmless); ``--once`` for cron."""

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections

from jobs.sweeper import sweep_stalled_jobs


class Command(BaseCommand):
    help = "Requeue or fail jobs that have shown no progress for longer than their stage allows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="sweep once and exit")
        parser.add_argument(
            "--every",
            type=float,
            default=None,
            help="seconds between sweeps (default: SWEEP_INTERVAL_SECONDS)",
        )

    def handle(self, *args: object, **options: Any) -> None:
        interval = options["every"] or settings.SWEEP_INTERVAL_SECONDS
        while True:
            try:
                report = sweep_stalled_jobs()
                if options["once"] or report.total:
                    self.stdout.write(f"Swept: {report}")
            except DatabaseError as error:
                # PostgreSQL restarting: try again next round rather than exit.
                self.stderr.write(f"Sweep skipped, a database error (trying again): {error}")
                if options["once"]:
                    raise
            finally:
                close_old_connections()
            if options["once"]:
                return
            time.sleep(interval)
