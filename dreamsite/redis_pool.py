"""One Redis connection pool per server for the whole web process, for Django's Redis cache."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import redis


class ProcessWideConnectionPool(redis.ConnectionPool):
    """``redis.ConnectionPool`` whose ``from_url`` hands every caller the same pool for the
    same URL and options, so connections are reused across requests.

    Django keeps cache objects per async context, and daphne runs each request in a new one,
    so its Redis cache built a new client, a new pool and a new TCP connection for every
    request that touched the cache (allauth's rate limits, the model status on the dream
    form), leaving the old ones to the garbage collector. Django's ``RedisCache`` takes this
    class through ``OPTIONS["pool_class"]`` (Django docs, "Cache framework: Redis").
    redis-py's pools are thread-safe and start afresh in a forked child.
    """

    _shared: ClassVar[dict[tuple[str, str], ProcessWideConnectionPool]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> ProcessWideConnectionPool:
        key = (url, repr(sorted(kwargs.items())))
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = super().from_url(url, **kwargs)
            return cls._shared[key]
