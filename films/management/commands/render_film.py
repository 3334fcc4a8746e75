"""``manage.py render_film``: write and render a film from the shell, through the same services
and actors as the portal, printing its progress (and each scene's) until it ends."""

import shutil
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from films import services
from films.errors import FilmError
from films.management.brief import add_brief_arguments, brief_from
from films.models import Film
from films.quote import quote_film
from films.script import create_film
from films.writing import writer_context
from jobs.embedded import start_embedded_workers, stop_embedded_workers
from jobs.following import describe, follow
from jobs.models import JobStatus


class Command(BaseCommand):
    help = "Write a film from an idea and a cast, render it and print its progress."

    def add_arguments(self, parser: CommandParser) -> None:
        add_brief_arguments(parser)
        parser.add_argument("--no-chaining", action="store_true", help="render scenes in parallel")
        parser.add_argument("--out", default=None, help="copy the finished MP4 here")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait")

    def handle(self, *args: Any, **options: Any) -> None:
        brief = brief_from(options)
        if settings.EMBEDDED_WORKERS:
            # No separate worker process in the embedded mode: render in this one.
            start_embedded_workers(resume=False)
        try:
            try:
                film = create_film(
                    **brief, chaining=not options["no_chaining"], writer=options["writer"]
                )
                if film.is_writing:
                    self._wait_for_script(film, options["timeout"])
                quote = quote_film(film=film)
                self.stdout.write(
                    f"Film {film.public_id} “{film.title}”: {len(quote.scene_seconds)} scenes, "
                    f"about {quote.seconds:.0f} s, estimated cost ${quote.cost_usd}."
                )
                services.render_film(film=film)
            except FilmError as error:
                raise CommandError(error.message) from None
            self._follow(film, options["timeout"])
        finally:
            if settings.EMBEDDED_WORKERS:
                stop_embedded_workers()
        if options["out"]:
            with film.video.open("rb") as source, Path(options["out"]).open("wb") as target:
                shutil.copyfileobj(source, target)
            self.stdout.write(f"Saved to {options['out']}")

    def _wait_for_script(self, film: Film, timeout: float) -> None:
        """Wait while a language model writes the film's script (its storyboard's preparation
        does, on a worker). Raises ``CommandError`` with the film's reason when it fails."""
        self.stdout.write(f"Writing the script with {writer_context(film)['writer_label']}…")
        deadline = time.monotonic() + timeout
        while film.is_writing and not film.error:
            if time.monotonic() > deadline:
                raise CommandError(f"The script was not written within {timeout:g} s.")
            time.sleep(0.5)
            film.refresh_from_db()
        if film.error:
            raise CommandError(f"The script could not be written. {film.error}")

    def _follow(self, film: Film, timeout: float) -> None:
        def line(film: Film) -> str:
            scenes = " ".join(
                f"{s.number}:{s.get_status_display().lower()}"
                for s in film.scenes.order_by("position")
            )
            return f"{describe(film)} [{scenes}]"

        follow(film, timeout=timeout, write=self.stdout.write, line=line, what="film")
        if film.status != JobStatus.SUCCEEDED:
            raise CommandError(
                f"The film {film.get_status_display().lower()}: {film.error or film.stage}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: a {film.duration_seconds:.1f} s film stored as {film.video.name}"
            )
        )
