from django.apps import AppConfig


class JobsConfig(AppConfig):
    """What every job shares (lifecycle, invocations, budget, feed, sweeper); the products
    register their job kinds with ``jobs.kinds.register`` in their own ``ready``."""

    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        from . import signals, tasks  # noqa: F401  (the actors register on the broker)

        signals.connect()
