"""``manage.py write_script``: write a film's script with any offered writer and print it,
without saving a film (to try a writer, or a brief, from the shell)."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from films.brief import script_brief
from films.errors import FilmError
from films.management.brief import add_brief_arguments, brief_from
from generation.writers import get_writer
from generation.writing import WriterError


class Command(BaseCommand):
    help = "Write a film's script from an idea and a cast and print it (nothing is saved)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_brief_arguments(parser)
        parser.add_argument("--seed", type=int, default=0, help="the template's seed")
        parser.add_argument("--json", action="store_true", help="print the script as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        brief = brief_from(options)
        try:
            writer = get_writer(options["writer"])
            written = writer.write(script_brief(**brief, seed=options["seed"]))
        except (FilmError, WriterError) as error:
            raise CommandError(error.message) from None
        if options["json"]:
            self.stdout.write(json.dumps(written.script, ensure_ascii=False, indent=2))
            return
        script = written.script
        self.stdout.write(f"{script['title']}\n{script['logline']}\n")
        for number, scene in enumerate(script["scenes"], start=1):
            self.stdout.write(
                f"{number}. {scene['heading']} ({scene['duration_seconds']:g} s; "
                f"{', '.join(scene['cast'])}; {scene['framing']})\n"
                f"   Shot: {scene['shot']}\n   Narration: {scene['narration']}\n"
            )
        self.stdout.write(
            f"Written by {writer.label}: {written.input_tokens} tokens in, "
            f"{written.output_tokens} out, ${written.cost_usd:.4f}, {written.repairs} repairs."
        )
