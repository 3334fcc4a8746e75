from django.apps import AppConfig


class HistoryConfig(AppConfig):
    """The signed-in user's history: their dreams and films, newest first. It reads both
    products so that neither imports the other."""

    name = "history"
