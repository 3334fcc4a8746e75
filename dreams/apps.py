from django.apps import AppConfig


class DreamsConfig(AppConfig):
    name = "dreams"
