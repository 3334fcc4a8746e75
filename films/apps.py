from django.apps import AppConfig


class FilmsConfig(AppConfig):
    """Multi-scene short films (DESIGN.md); the models arrive with the films issue."""

    name = "films"
