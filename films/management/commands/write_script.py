"""``manage.py write_script``: write a film's script with any offered writer and print it,
without saving a film (to try a writer, or a brief, from the shell)."""

import json
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from characters.models import Character
from films.errors import FilmError
from films.script import script_brief
from generation.beats import GENRES
from generation.styles import STYLES
from generation.voices import installed_voices
from generation.writers import get_writer
from generation.writing import WriterError


class Command(BaseCommand):
    help = "Write a film's script from an idea and a cast and print it (nothing is saved)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="email of the cast's owner")
        parser.add_argument(
            "--character", action="append", required=True, help="a cast member's name (1-3 times)"
        )
        parser.add_argument("--idea", required=True, help="what happens, to whom")
        parser.add_argument("--writer", default="template", help="an offered script writer")
        parser.add_argument("--title", default="")
        parser.add_argument("--genre", default="adventure", help=", ".join(GENRES))
        parser.add_argument("--style", default="natural", help=", ".join(STYLES))
        parser.add_argument("--scenes", type=int, default=None, help="3..12 (default: by length)")
        parser.add_argument("--seconds", type=int, default=60, help="target length, 30..600")
        parser.add_argument("--voice", default=None, help="an installed voice (default: the first)")
        parser.add_argument("--backend", default=None, help="clip backend (default: the first)")
        parser.add_argument("--seed", type=int, default=0, help="the template's seed")
        parser.add_argument("--json", action="store_true", help="print the script as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(email__iexact=options["user"]).first()
        if user is None:
            raise CommandError(f"No user with the email {options['user']!r}.")
        cast = []
        for name in options["character"]:
            character = Character.objects.filter(owner=user, name__iexact=name).first()
            if character is None:
                raise CommandError(f"{user.email} has no character called {name!r}.")
            cast.append(character)
        voices = installed_voices()
        try:
            writer = get_writer(options["writer"])
            brief = script_brief(
                owner=user, cast=cast, idea=options["idea"], title=options["title"],
                genre=options["genre"], style=options["style"],
                voice=options["voice"] or (voices[0].name if voices else ""),
                backend=options["backend"] or (settings.CLIP_BACKENDS or ["animatic"])[0],
                scene_count=options["scenes"], target_seconds=options["seconds"],
                seed=options["seed"],
            )  # fmt: skip
            written = writer.write(brief)
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
