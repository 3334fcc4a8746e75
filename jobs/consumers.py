"""The websocket that carries live progress to a signed-in user's pages."""

from __future__ import annotations

import json
import re
import uuid
from importlib import import_module
from typing import Any

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from . import kinds
from .events import session_digest, user_group

#: Most jobs one sync request may ask about (a history page shows fewer).
MAX_SYNC_IDS = 100
#: Largest frame read, in characters: a sync of ``MAX_SYNC_IDS`` jobs takes about 6,000.
MAX_FRAME_CHARS = 16_384
#: Deepest nesting of arrays and objects read: a sync frame has three levels. Python's JSON
#: decoder recurses per level, so a frame of thousands of brackets would exhaust the stack.
MAX_FRAME_DEPTH = 8
#: JSON strings, which may hold brackets that do not nest anything.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def frame_depth(text: str) -> int:
    """How deeply the arrays and objects in the JSON text ``text`` nest (0 for a scalar),
    counted without parsing it; brackets inside strings do not count."""
    depth = deepest = 0
    for char in _JSON_STRING.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


class JobProgressConsumer(AsyncJsonWebsocketConsumer):
    """Sends ``{"type": "event", "event": {...}}`` for each change of the user's own jobs.

    A page sends ``{"type": "sync", "jobs": [{"kind": "dream", "id": public id}, ...]}`` after
    (re)connecting and gets the current state of those of them it owns; unknown kinds, unknown
    or foreign ids are ignored silently, so the socket never confirms that another user's job
    exists. (``{"type": "sync", "dreams": [ids]}``, the older form, is still read.) Frames that
    are not a JSON object are ignored too, and so are frames over ``MAX_FRAME_CHARS`` or
    nested deeper than ``MAX_FRAME_DEPTH``, unparsed.
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

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # A binary frame or broken JSON is the page's mistake, not the server's: ignore it
        # rather than let the decoder close the socket with 1011.
        if text_data is None:
            return
        # Refused before parsing: a frame too large, or nested deeper than any page sends.
        if len(text_data) > MAX_FRAME_CHARS or frame_depth(text_data) > MAX_FRAME_DEPTH:
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "sync":
            return
        wanted: list[tuple[str, str]] = []
        jobs = content.get("jobs")
        if isinstance(jobs, list):
            wanted += [
                (str(job.get("kind")), str(job.get("id"))) for job in jobs if isinstance(job, dict)
            ]
        dreams = content.get("dreams")
        if isinstance(dreams, list):
            wanted += [("dream", str(public_id)) for public_id in dreams]
        for event in await self._owned_events(wanted[:MAX_SYNC_IDS]):
            await self.send_json({"type": "event", "event": event})

    async def job_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "event", "event": message["event"]})

    async def layer_reconnected(self, message: dict[str, Any]) -> None:
        """This web process lost Redis and got it back (``dreamsite.channel_layers``): events
        may have been lost meanwhile, so close (1012, service restart) and let the page
        reconnect and re-sync its jobs from the database."""
        await self.close(code=1012)

    async def session_recheck(self, message: dict[str, Any]) -> None:
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
    def _owned_events(self, wanted: list[tuple[str, str]]) -> list[dict[str, Any]]:
        by_kind: dict[str, list[uuid.UUID]] = {}
        for kind_name, public_id in wanted:
            try:
                by_kind.setdefault(kind_name, []).append(uuid.UUID(public_id))
            except ValueError:
                continue
        events = []
        for kind_name, public_ids in by_kind.items():
            try:
                kind = kinds.get(kind_name)
            except KeyError:
                continue
            jobs = kind.owned(self.scope["user"]).filter(public_id__in=public_ids)
            events += [job.progress_event() for job in jobs]
        return events
