"""The websocket that carries live progress to a signed-in user's pages."""

from __future__ import annotations

import uuid

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .events import dream_event, user_group
from .models import Dream

#: Most dreams one sync request may ask about (a history page shows fewer).
MAX_SYNC_IDS = 100


class JobProgressConsumer(AsyncJsonWebsocketConsumer):
    """Sends ``{"type": "event", "event": {...}}`` for each change of the user's own jobs.

    A page sends ``{"type": "sync", "dreams": [public ids]}`` after (re)connecting and gets
    the current state of those of them it owns; unknown or foreign ids are ignored silently,
    so the socket never confirms that another user's dream exists.
    """

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.group = user_group(user.id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict) or content.get("type") != "sync":
            return
        ids = content.get("dreams")
        if not isinstance(ids, list):
            return
        for event in await self._owned_dream_events([str(i) for i in ids[:MAX_SYNC_IDS]]):
            await self.send_json({"type": "event", "event": event})

    async def job_event(self, message: dict) -> None:
        await self.send_json({"type": "event", "event": message["event"]})

    @database_sync_to_async
    def _owned_dream_events(self, public_ids: list[str]) -> list[dict]:
        valid = []
        for public_id in public_ids:
            try:
                valid.append(uuid.UUID(public_id))
            except ValueError:
                continue
        dreams = Dream.objects.filter(owner=self.scope["user"], public_id__in=valid)
        return [dream_event(dream) for dream in dreams]
