"""What the film commands (``render_film``, ``write_script``) take from the shell to describe a
film: its owner, cast, idea and the rest of the brief, read the same way by both."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from accounts.models import User
from characters.models import Character
from generation.beats import GENRES
from generation.styles import STYLES
from generation.voices import installed_voices


def add_brief_arguments(parser: CommandParser) -> None:
    """The brief's options: ``--user``, ``--character`` (1-3 times), ``--idea``, ``--title``,
    ``--genre``, ``--style``, ``--scenes``, ``--seconds``, ``--voice``, ``--backend`` and
    ``--writer`` (read by each command itself)."""
    parser.add_argument("--user", required=True, help="email of the film's owner")
    parser.add_argument(
        "--character", action="append", required=True, help="a cast member's name (1-3 times)"
    )
    parser.add_argument("--idea", required=True, help="what happens, to whom")
    parser.add_argument("--title", default="")
    parser.add_argument("--genre", default="adventure", help=", ".join(GENRES))
    parser.add_argument("--style", default="natural", help=", ".join(STYLES))
    parser.add_argument("--scenes", type=int, default=None, help="3..12 (default: by length)")
    parser.add_argument("--seconds", type=int, default=60, help="target length, 30..600")
    parser.add_argument("--voice", default=None, help="an installed voice (default: the first)")
    parser.add_argument("--backend", default=None, help="clip backend (default: the first)")
    parser.add_argument("--writer", default="template", help="an offered script writer")


def brief_from(options: dict[str, Any]) -> dict[str, Any]:
    """The brief's keyword arguments (``owner``, ``cast``, ``idea``, ``title``, ``genre``,
    ``style``, ``voice``, ``backend``, ``scene_count``, ``target_seconds``) from the parsed
    ``options``: the first installed voice and the first offered backend by default. Raises
    ``CommandError`` for an unknown user or a character they do not have."""
    user: User | None = get_user_model().objects.filter(email__iexact=options["user"]).first()
    if user is None:
        raise CommandError(f"No user with the email {options['user']!r}.")
    cast = []
    for name in options["character"]:
        character = Character.objects.filter(owner=user, name__iexact=name).first()
        if character is None:
            names = ", ".join(user.characters.values_list("name", flat=True)) or "none"
            raise CommandError(
                f"{user.email} has no character called {name!r} (their characters: {names})."
            )
        cast.append(character)
    voices = installed_voices()
    return {
        "owner": user, "cast": cast, "idea": options["idea"], "title": options["title"],
        "genre": options["genre"], "style": options["style"],
        "voice": options["voice"] or (voices[0].name if voices else ""),
        "backend": options["backend"] or (settings.CLIP_BACKENDS or ["animatic"])[0],
        "scene_count": options["scenes"], "target_seconds": options["seconds"],
    }  # fmt: skip
