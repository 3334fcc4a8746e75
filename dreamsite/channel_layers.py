"""The channel layers: in memory for the embedded mode, Redis pub/sub for production.

An in-memory channel layer that worker threads can publish to without delay:

Channels' ``InMemoryChannelLayer`` keeps one ``asyncio.Queue`` per channel, bound to the event
loop of the consumer that waits on it. A worker thread publishes through ``async_to_sync``,
which runs ``group_send`` on a different loop: the queue's waiter is then completed from the
wrong thread, and the consumer's loop does not wake until something else wakes it, often
seconds later (django/channels issues #1160, #1526). This layer hands every send to the
consumers' own loop with ``run_coroutine_threadsafe``, which wakes it at once.
"""

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisSingleShardConnection

logger = logging.getLogger(__name__)


class ThreadSafeInMemoryChannelLayer(InMemoryChannelLayer):
    """``InMemoryChannelLayer`` whose sends from any thread reach receivers immediately.

    Only valid within one process (the embedded mode); production uses channels-redis.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._receiver_loop: asyncio.AbstractEventLoop | None = None

    async def receive(self, channel: str) -> dict[str, Any]:
        self._receiver_loop = asyncio.get_running_loop()
        message: dict[str, Any] = await super().receive(channel)
        return message

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        await self._on_receiver_loop(super().send(channel, message))

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await self._on_receiver_loop(super().group_send(group, message))

    async def _on_receiver_loop(self, coroutine: Coroutine[Any, Any, None]) -> None:
        loop = self._receiver_loop
        if loop is None or not loop.is_running() or loop is asyncio.get_running_loop():
            await coroutine
            return
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))


#: The message each consumer of a web process gets when its link to Redis came back after a
#: loss: events published meanwhile were lost (Redis pub/sub keeps nothing), so the consumer
#: closes its socket and the page reconnects and re-syncs from the database.
RECONNECTED = {"type": "layer.reconnected"}


class _ResyncingShard(RedisSingleShardConnection):
    """A channels-redis pub/sub connection that, once it is receiving again after losing
    Redis, tells every consumer of this process (``RECONNECTED``)."""

    async def _do_receiving(self) -> None:
        lost = False
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0.1
                    )
                    if lost:
                        # get_message returned: redis-py reconnected and subscribed again.
                        lost = False
                        self._tell_every_consumer()
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as error:
                if not lost:
                    logger.warning("Lost the channel layer's Redis: %r", error)
                lost = True
                await asyncio.sleep(1)

    def _tell_every_consumer(self) -> None:
        layer = self.channel_layer
        notice = layer.channel_layer.serialize(RECONNECTED)
        for queue in layer.channels.values():
            queue.put_nowait(notice)
        logger.warning("The channel layer's Redis is back; %d socket(s) told to re-sync",
                       len(layer.channels))  # fmt: skip


class ResyncingPubSubChannelLayer(RedisPubSubChannelLayer):
    """channels-redis's pub/sub layer (``RedisPubSubChannelLayer``: one ``PUBLISH`` per group
    send, streamed to each web process), which keeps no message while a web process is cut off
    from Redis. Unlike the stock layer, which then goes on silently, each consumer here gets
    ``RECONNECTED`` once the connection is back, so the page reconnects and re-syncs instead of
    showing a job that stopped moving.

    Chosen over ``RedisChannelLayer`` (a sorted set per process, popped one message per round
    trip with a backup copy) for bursts: ``bench/websocket_fanout.py`` measures both."""

    def _get_layer(self) -> Any:
        layer = super()._get_layer()
        # Shards connect lazily, so one swapped right after it was made holds no connection.
        layer._shards = [
            shard if isinstance(shard, _ResyncingShard) else _ResyncingShard(shard.host, layer)
            for shard in layer._shards
        ]
        return layer
