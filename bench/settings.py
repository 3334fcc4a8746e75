"""Settings for benchmark servers: the project's own, with the trivial baseline view added."""

from dreamsite.settings import *  # noqa: F403

ROOT_URLCONF = "bench.trivial_urls"
