from django.apps import AppConfig


class DreamsConfig(AppConfig):
    name = "dreams"

    def ready(self) -> None:
        from jobs import kinds

        from . import tasks  # noqa: F401  (the actors register on the broker)
        from .clips import DREAM_KIND

        kinds.register(DREAM_KIND)
