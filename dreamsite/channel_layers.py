"""An in-memory channel layer that worker threads can publish to without delay.

Channels' ``InMemoryChannelLayer`` keeps one ``asyncio.Queue`` per channel, bound to the event
loop of the consumer that waits on it. A worker thread publishes through ``async_to_sync``,
which runs ``group_send`` on a different loop: the queue's waiter is then completed from the
wrong thread, and the consumer's loop does not wake until something else wakes it, often
seconds later (django/channels issues #1160, #1526). This layer hands every send to the
consumers' own loop with ``run_coroutine_threadsafe``, which wakes it at once.
"""

import asyncio
from collections.abc import Coroutine
from typing import Any

from channels.layers import InMemoryChannelLayer


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
