from django.apps import AppConfig


class DreamsConfig(AppConfig):
    name = "dreams"

    def ready(self) -> None:
        from . import signals

        signals.connect()
