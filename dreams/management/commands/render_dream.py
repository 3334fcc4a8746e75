"""``manage.py render_dream``: render one dream from the shell, through the same service and
actor as the portal, printing its progress until it ends."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from characters.models import Character
from dreams import services
from dreams.models import Dream, DreamStatus
from jobs.embedded import start_embedded_workers, stop_embedded_workers
from jobs.following import follow


class Command(BaseCommand):
    help = "Render a dream for a user's character and print its progress."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="email of the dream's owner")
        parser.add_argument("--character", required=True, help="name of one of their characters")
        parser.add_argument("--prompt", required=True, help="what the character does")
        parser.add_argument("--backend", default=None, help="backend name (default: the first)")
        parser.add_argument("--seed", type=int, default=None, help="0..2147483646")
        parser.add_argument(
            "--timeout", type=float, default=900, help="seconds to wait for the render"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(email__iexact=options["user"]).first()
        if user is None:
            raise CommandError(f"No user with the email {options['user']!r}.")
        character = Character.objects.filter(owner=user, name__iexact=options["character"]).first()
        if character is None:
            names = ", ".join(user.characters.values_list("name", flat=True)) or "none"
            raise CommandError(
                f"{user.email} has no character called {options['character']!r} "
                f"(their characters: {names})."
            )
        backend = options["backend"] or (settings.CLIP_BACKENDS or ["animatic"])[0]
        try:
            dream = services.create_dream(
                owner=user,
                character=character,
                prompt=options["prompt"],
                backend=backend,
                seed=options["seed"],
            )
        except services.DreamError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Dream {dream.public_id} queued on {dream.backend} (seed {dream.seed}).")
        if not settings.EMBEDDED_WORKERS:
            self._follow(dream, options["timeout"])
            return
        # No separate worker process in the embedded mode: render in this one.
        start_embedded_workers(resume=False)
        try:
            self._follow(dream, options["timeout"])
        finally:
            stop_embedded_workers()

    def _follow(self, dream: Dream, timeout: float) -> None:
        follow(dream, timeout=timeout, write=self.stdout.write, what="dream")
        if dream.status != DreamStatus.SUCCEEDED:
            raise CommandError(f"The dream {dream.status}: {dream.error or dream.stage}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {dream.duration_seconds:.1f} s video stored as {dream.video.name}"
            )
        )
