from django.apps import AppConfig


class CharactersConfig(AppConfig):
    """Characters: a user's named people and their reference photos."""

    name = "characters"
