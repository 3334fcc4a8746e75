"""The websocket that carries live progress to a signed-in user's pages."""

from __future__ import annotations

import uuid
from importlib import import_module

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from .events import dream_event, session_digest, user_group
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

    async def session_recheck(self, message: dict) -> None:
        """The user signed out somewhere or changed their password: close this socket if
        its session is the one that ended, or no longer signs the same user in (read afresh,
        not the copy from connect)."""
        session_key = self.scope["session"].session_key
        if message.get("ended") == session_digest(session_key):
            await self.close(code=4401)
            return
        fresh = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        user = await get_user({"session": fresh})
        if user.pk != self.scope["user"].pk:
            await self.close(code=4401)

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
