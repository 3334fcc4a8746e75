"""``manage.py render_style_samples``: draw the sample image of each visual style (the one the
new-film form shows) from two of the fixture photographs (public domain and CC0, see
docs/licences.md), through the same code that grades keyframes."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from generation.framing import compose_keyframe
from generation.styles import STYLES

PHOTOS = Path(settings.BASE_DIR).parent / "shared" / "fixtures" / "images"
SIZE = (400, 225)


class Command(BaseCommand):
    help = "Render static/img/styles/<style>.jpg, one sample per visual style."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--photos", default=str(PHOTOS), help="folder of the fixture photos")
        parser.add_argument(
            "--out", default=str(Path(settings.BASE_DIR) / "static" / "img" / "styles")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        photos = Path(options["photos"])
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        portraits = [photos / "astronaut.png", photos / "chelsea.png"]
        for style in STYLES:
            image = compose_keyframe(
                portraits, framing="medium", style=style, width=SIZE[0], height=SIZE[1], seed=1
            )
            image.save(out / f"{style}.jpg", "JPEG", quality=82, optimize=True)
            self.stdout.write(f"{style}: {out / f'{style}.jpg'}")
