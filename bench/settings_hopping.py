"""Benchmark settings with the middleware stack Django builds without
``SynchronousStackMiddleware``: under daphne each stock middleware then runs in async mode,
hopping to the request's thread for each of its hooks. For side-by-side comparison only."""

from bench.settings import *  # noqa: F403

MIDDLEWARE = [
    name
    for name in MIDDLEWARE  # noqa: F405
    if name != "dreamsite.middleware.SynchronousStackMiddleware"
]
