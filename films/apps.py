from django.apps import AppConfig


class FilmsConfig(AppConfig):
    """The film product: registers its job kinds (``films.kinds``) and actors."""

    name = "films"

    def ready(self) -> None:
        """Register the ``film`` and ``scene`` job kinds with ``jobs.kinds``; import the
        actors."""
        from jobs import kinds

        from . import tasks  # noqa: F401  (the actors register on the broker)
        from .kinds import FILM_KIND, SCENE_KIND

        kinds.register(FILM_KIND)
        kinds.register(SCENE_KIND)
