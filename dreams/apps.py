from django.apps import AppConfig


class DreamsConfig(AppConfig):
    """The dream product: registers its job kind (``dreams.clips.DREAM_KIND``) and actors."""

    name = "dreams"

    def ready(self) -> None:
        """Register the ``dream`` job kind with ``jobs.kinds`` and import the actors."""
        from jobs import kinds

        from . import tasks  # noqa: F401  (the actors register on the broker)
        from .clips import DREAM_KIND

        kinds.register(DREAM_KIND)
