from django.apps import AppConfig


class FilmsConfig(AppConfig):
    name = "films"

    def ready(self) -> None:
        from jobs import kinds

        from . import tasks  # noqa: F401  (the actors register on the broker)
        from .kinds import FILM_KIND, SCENE_KIND

        kinds.register(FILM_KIND)
        kinds.register(SCENE_KIND)
